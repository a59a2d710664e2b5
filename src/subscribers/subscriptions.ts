import type { Lang } from '../core/lang.ts';
import type { PublicUrls } from '../core/public-urls.ts';
import { DepescheError, isDepescheError } from '../errors.ts';
import type { Wording } from './consent.ts';
import type { RedisSubscriberStore, SubscriberRecord } from './redis-store.ts';
import { signToken, verifyToken, type TokenClaims } from './tokens.ts';
import type { DrainResult, SpooledUnsubscribe, UnsubscribeSpool } from './unsubscribe-spool.ts';

/**
 * What a reader (or a stranger) can do from the public side, each as one call the public
 * app's routes make. The rule they all keep: nothing about a subscription changes without
 * a confirmed action of the person it belongs to (see states.ts).
 *
 * - {@link Subscriptions.request}: a form post. For any address, new or known, active or
 *   suppressed, it stores a request and mails the address one link (at most one mail per
 *   address per resend window); the answer is the same in content and in time, and the
 *   mail goes out after the answer.
 * - {@link Subscriptions.confirm}: the link's button. Applies the request its nonce
 *   belongs to, and writes the consent record.
 * - {@link Subscriptions.unsubscribe}: from a mail's link or the one-click POST. Leaves the
 *   list the mail came from, or all lists. While Redis is down it goes to the spool.
 * - {@link Subscriptions.preferences} / {@link Subscriptions.updatePreferences}: the
 *   preference centre. Language and leaving act at once; joining is a request like the form's.
 */

/** The mail that carries a request's link. Its words are the public app's to write. */
export interface ConfirmationMail {
  to: string;
  /** The language the mail is written in: the reader's own for a known address. */
  lang: Lang;
  confirmUrl: string;
  /** What was asked: join these lists … */
  lists: string[];
  /** … and receive the issues in this language. */
  requestedLang: Lang;
  expiresInDays: number;
}

export interface ConfirmationMailer {
  /** Resolves with the Message-ID the mail went out with. */
  send(mail: ConfirmationMail): Promise<{ messageId: string }>;
}

/** Which list a mail went to, by the campaign id its links carry. The campaign side answers. */
export interface MailOrigins {
  listOf(campaignId: string): Promise<string | null>;
}

export interface SubscriptionSettings {
  defaultList: string;
  confirmTtlDays: number;
  /** One confirmation mail per address within this window. @defaultValue 10 minutes */
  resendAfterMs?: number;
  /** Delays before each further try of a confirmation mail that failed. @defaultValue [5 s, 60 s] */
  mailRetryMs?: number[];
}

export interface SubscriptionsDeps {
  store: RedisSubscriberStore;
  secret: string;
  /** Earlier secrets (DEPESCHE_SECRET_PREVIOUS) whose links still verify after a rotation. */
  previousSecrets?: readonly string[];
  urls: PublicUrls;
  mailer: ConfirmationMailer;
  spool: UnsubscribeSpool;
  /** The consent text shown with the form, per language (from locales/). */
  wording: (lang: Lang) => Wording;
  origins?: MailOrigins;
  settings: SubscriptionSettings;
  /** Whether Redis answers right now; false sends unsubscribes straight to the spool. */
  available?: () => boolean;
  log?: (level: 'info' | 'warn' | 'error', details: Record<string, unknown>, message: string) => void;
}

export interface RequestInput {
  email: string;
  name: string;
  /** The language chosen in the form. */
  lang: Lang;
  /** Lists named by the form; none means the default list. */
  lists: string[];
  ip: string;
  formUrl: string;
  /** The honeypot field had a value: a bot. It gets the same answer and nothing happens. */
  bot: boolean;
}

export type RequestOutcome = { kind: 'accepted' } | { kind: 'unknown-list'; list: string };

export type ConfirmView =
  | { kind: 'open'; email: string; lang: Lang; lists: string[]; requestedLang: Lang }
  | { kind: 'gone' | 'expired'; lang: Lang };

export type ConfirmOutcome = { kind: 'confirmed'; email: string; lang: Lang; lists: string[] } | { kind: 'gone' | 'expired'; lang: Lang };

export interface UnsubscribeView {
  /** Absent while Redis is down: the page still offers the button, without the address. */
  subscriber?: { email: string; lang: Lang; status: SubscriberRecord['status'] };
  /** The list the mail came from, when known; the page offers leaving it or everything. */
  list: string | null;
  /** The reader's preference centre, for those who only want another language or list. */
  preferencesUrl?: string;
}

export type UnsubscribeOutcome =
  | { kind: 'done'; email: string; lang: Lang; left: string | null; unsubscribed: boolean; otherLists: boolean }
  /** Redis is unreachable: written to the spool, applied when it is back. */
  | { kind: 'spooled' };

export interface PreferencesView {
  email: string;
  lang: Lang;
  status: SubscriberRecord['status'];
  /** Public lists, with whether the reader is on each, or waits for a confirmation to join. */
  lists: { name: string; member: boolean; requested: boolean }[];
}

export interface PreferencesChange {
  lang?: Lang;
  /** The public lists the reader wants to be on; the rest of the public lists they leave. */
  lists?: string[];
  ip: string;
  formUrl: string;
}

export interface PreferencesOutcome {
  view: PreferencesView;
  langChanged: boolean;
  left: string[];
  /** Lists a confirmation mail was sent for. */
  requested: string[];
}

const TEN_MINUTES = 10 * 60_000;
const PUBLIC_LISTS_TTL_MS = 5_000;

export class Subscriptions {
  readonly #deps: SubscriptionsDeps;
  readonly #deliveries = new Set<Promise<void>>();
  #publicLists: { at: number; lists: Promise<string[]> } | undefined;

  constructor(deps: SubscriptionsDeps) {
    this.#deps = deps;
  }

  get #settings() {
    return this.#deps.settings;
  }

  /**
   * Lists a form may name and the preference centre shows. Read on every form post, so kept
   * for a few seconds: a change of visibility reaches the form within that time.
   */
  publicLists(): Promise<string[]> {
    const now = Date.now();
    if (!this.#publicLists || now - this.#publicLists.at > PUBLIC_LISTS_TTL_MS) {
      const lists = this.#deps.store.publicLists(this.#settings.defaultList);
      this.#publicLists = { at: now, lists };
      lists.catch(() => (this.#publicLists = undefined));
    }
    return this.#publicLists.lists;
  }

  // ── The form ───────────────────────────────────────────────────────────────────

  async request(input: RequestInput): Promise<RequestOutcome> {
    const { store } = this.#deps;
    const lists = input.lists.length > 0 ? [...new Set(input.lists)] : [this.#settings.defaultList];
    // A private list and a missing one get the same answer: neither exists for the form.
    const visibility = await this.publicLists();
    const unknown = lists.find((list) => !visibility.includes(list));
    if (unknown !== undefined) return { kind: 'unknown-list', list: unknown };
    if (input.bot) return { kind: 'accepted' };
    const result = await store.request({
      email: input.email,
      name: input.name,
      lang: input.lang,
      requestedLang: input.lang,
      lists,
      ip: input.ip,
      formUrl: input.formUrl,
      wording: this.#deps.wording(input.lang),
      source: 'form',
      ttlMs: this.#settings.confirmTtlDays * 86_400_000,
      resendAfterMs: this.#settings.resendAfterMs ?? TEN_MINUTES,
    });
    if (result.outcome === 'mail') this.#mailLater(result.id, result.nonce, result.expiresAt, lists, input.lang);
    return { kind: 'accepted' };
  }

  // The answer leaves first; the mail follows. So the answer takes the same time whether a
  // mail goes out or not, and an SMTP fault can never tell one address from another.
  #mailLater(id: string, nonce: string, expiresAt: number, lists: string[], requestedLang: Lang): void {
    const delivery = new Promise<void>((resolve) => setImmediate(resolve))
      .then(() => this.#deliver(id, nonce, expiresAt, lists, requestedLang))
      .catch((error: unknown) => this.#log('error', { err: error, subscriber: id }, 'confirmation mail: giving up'))
      .finally(() => this.#deliveries.delete(delivery));
    this.#deliveries.add(delivery);
  }

  async #deliver(id: string, nonce: string, expiresAt: number, lists: string[], requestedLang: Lang): Promise<void> {
    const { store, mailer, urls, secret } = this.#deps;
    const subscriber = await store.get(id);
    if (!subscriber || subscriber.request === undefined) return;
    const token = signToken({ act: 'confirm', sub: id, n: nonce, exp: Math.floor(expiresAt / 1000) }, secret);
    const mail: ConfirmationMail = {
      to: subscriber.email,
      lang: subscriber.lang,
      confirmUrl: urls.confirm(token),
      lists,
      requestedLang,
      expiresInDays: this.#settings.confirmTtlDays,
    };
    const delays = this.#settings.mailRetryMs ?? [5_000, 60_000];
    let lastError = '';
    for (let attempt = 0; attempt <= delays.length; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, delays[attempt - 1]));
      let messageId: string;
      try {
        ({ messageId } = await mailer.send(mail));
      } catch (error) {
        lastError = (error as Error).message;
        this.#log('warn', { subscriber: id, attempt: attempt + 1, err: lastError }, 'confirmation mail failed');
        continue;
      }
      // The Message-ID belongs in the consent record; Redis may be away for a moment.
      for (let tries = 0; ; tries++) {
        try {
          await store.requestMailed(id, nonce, { messageId });
          return;
        } catch (error) {
          if (!isRedisDown(error) || tries >= 10) throw error;
          await new Promise((resolve) => setTimeout(resolve, 3_000));
        }
      }
    }
    // Nothing went out: the window opens again, so the reader can simply send the form again.
    await store.requestMailed(id, nonce, { error: lastError });
  }

  /** Resolves when every confirmation mail under way has gone out or given up (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.#deliveries.size > 0) await Promise.allSettled([...this.#deliveries]);
  }

  // ── The confirmation link ──────────────────────────────────────────────────────

  /** What the confirm page shows: the request, or why the link is dead. Changes nothing (GET and HEAD). */
  async confirmation(token: string): Promise<ConfirmView> {
    const claims = this.#verify(token, 'confirm');
    const subscriber = await this.#subscriber(claims);
    if (claims.n === undefined) {
      // A link mailed before requests had nonces: the sign-up it was made for, if still waiting.
      const open = subscriber.status === 'pending' && subscriber.request === undefined && subscriber.unsubscribedAt === undefined;
      return open ? { kind: 'open', email: subscriber.email, lang: subscriber.lang, lists: subscriber.lists, requestedLang: subscriber.lang } : { kind: 'gone', lang: subscriber.lang };
    }
    const request = subscriber.request;
    const current = request !== undefined && (await this.#deps.store.isCurrentRequest(subscriber.id, claims.n));
    if (!current || subscriber.status === 'complained') return { kind: 'gone', lang: subscriber.lang };
    if (Date.parse(request.expiresAt) < Date.now()) return { kind: 'expired', lang: subscriber.lang };
    return { kind: 'open', email: subscriber.email, lang: subscriber.lang, lists: request.lists, requestedLang: request.lang ?? subscriber.lang };
  }

  async confirm(token: string, ip: string): Promise<ConfirmOutcome> {
    const claims = this.#verify(token, 'confirm');
    const result = await this.#deps.store.confirmRequest(claims.sub, claims.n ?? '', ip);
    const subscriber = await this.#subscriber(claims);
    if (result.outcome === 'confirmed') return { kind: 'confirmed', email: subscriber.email, lang: result.lang, lists: subscriber.lists };
    if (result.outcome === 'missing') throw gone();
    return { kind: result.outcome, lang: subscriber.lang };
  }

  // ── Unsubscribe links and one-click ────────────────────────────────────────────

  async unsubscribeView(token: string): Promise<UnsubscribeView> {
    const claims = this.#verify(token, 'unsubscribe');
    if (!this.#available()) return { list: null };
    try {
      const subscriber = await this.#subscriber(claims);
      const list = await this.#listOf(claims);
      const preferences = signToken({ act: 'preferences', sub: subscriber.id, ...(claims.cmp ? { cmp: claims.cmp } : {}) }, this.#deps.secret);
      return {
        subscriber: { email: subscriber.email, lang: subscriber.lang, status: subscriber.status },
        list: list && subscriber.lists.includes(list) ? list : null,
        preferencesUrl: this.#deps.urls.preferences(preferences),
      };
    } catch (error) {
      if (isRedisDown(error)) return { list: null };
      throw error;
    }
  }

  /**
   * Leaves the list the mail came from (`scope: 'list'`, what RFC 8058 one-click does), or
   * every list. Always accepted: while Redis is down it is spooled and applied later.
   */
  async unsubscribe(token: string, request: { scope: 'list' | 'all'; via: string; ip: string; action?: 'unsubscribe' | 'preferences' }): Promise<UnsubscribeOutcome> {
    const claims = this.#verify(token, request.action ?? 'unsubscribe');
    const entry = { sub: claims.sub, scope: request.scope, via: request.via, ip: request.ip, ...(claims.cmp ? { cmp: claims.cmp } : {}) };
    if (!this.#available()) return this.#spool(entry);
    try {
      const subscriber = await this.#subscriber(claims);
      const list = request.scope === 'list' ? await this.#listOf(claims) : null;
      await this.#apply({ ...entry, list });
      const after = await this.#deps.store.get(claims.sub);
      return {
        kind: 'done',
        email: subscriber.email,
        lang: subscriber.lang,
        left: list,
        unsubscribed: after?.status === 'unsubscribed',
        otherLists: (after?.lists.length ?? 0) > 0 && after?.status !== 'unsubscribed',
      };
    } catch (error) {
      if (isRedisDown(error)) return this.#spool(entry);
      throw error;
    }
  }

  async #spool(entry: Omit<SpooledUnsubscribe, 'id' | 'at'>): Promise<UnsubscribeOutcome> {
    const spooled = await this.#deps.spool.append(entry);
    this.#log('warn', { spool: spooled.id, subscriber: entry.sub }, 'Redis unreachable: unsubscribe spooled');
    return { kind: 'spooled' };
  }

  async #apply(entry: { sub: string; scope: 'list' | 'all'; via: string; ip?: string; list: string | null; once?: string }): Promise<void> {
    const { store } = this.#deps;
    const once = entry.once ? { once: entry.once } : {};
    const ip = entry.ip ? { ip: entry.ip } : {};
    if (entry.scope === 'list' && entry.list) {
      await store.leaveList(entry.sub, entry.list, { via: entry.via, byReader: true, ...once, ...ip });
    } else {
      await store.unsubscribe(entry.sub, entry.via, { ...once, ...ip });
    }
  }

  /** Applies what the spool holds, each entry once; call when Redis is (back) up. */
  drainSpool(): Promise<DrainResult> {
    return this.#deps.spool.drain(
      async (entry) => {
        try {
          const list = entry.scope === 'list' && entry.cmp ? await this.#listOf({ act: 'unsubscribe', sub: entry.sub, cmp: entry.cmp }) : null;
          await this.#apply({ sub: entry.sub, scope: entry.scope, via: entry.via, list, once: entry.id, ...(entry.ip ? { ip: entry.ip } : {}) });
          this.#log('info', { spool: entry.id, subscriber: entry.sub }, 'spooled unsubscribe applied');
          return true;
        } catch (error) {
          if (isDepescheError(error) && error.code === 'E_NOT_FOUND') {
            this.#log('warn', { spool: entry.id, subscriber: entry.sub }, 'spooled unsubscribe for a subscriber who no longer exists: dropped');
            return false;
          }
          throw error;
        }
      },
      (line) => this.#log('error', { line: line.slice(0, 200) }, 'unreadable line in the unsubscribe spool: skipped'),
    );
  }

  // ── The preference centre ──────────────────────────────────────────────────────

  async preferences(token: string): Promise<PreferencesView> {
    const claims = this.#verify(token, 'preferences');
    return this.#view(await this.#subscriber(claims));
  }

  async updatePreferences(token: string, change: PreferencesChange): Promise<PreferencesOutcome> {
    const claims = this.#verify(token, 'preferences');
    const { store } = this.#deps;
    const subscriber = await this.#subscriber(claims);
    const publicLists = await this.publicLists();
    let langChanged = false;
    if (change.lang && change.lang !== subscriber.lang) {
      langChanged = (await store.setLang(subscriber.id, change.lang, { via: 'preferences', ip: change.ip })) !== 'unchanged';
    }
    const left: string[] = [];
    const requested: string[] = [];
    if (change.lists) {
      const wanted = new Set(change.lists.filter((list) => publicLists.includes(list)));
      const active = subscriber.status === 'active';
      for (const list of publicLists) {
        const member = subscriber.lists.includes(list) && active;
        if (member && !wanted.has(list)) {
          await store.leaveList(subscriber.id, list, { via: 'preferences', byReader: true, ip: change.ip });
          left.push(list);
        }
        if (!member && wanted.has(list)) requested.push(list);
      }
      if (requested.length > 0) {
        const lang = change.lang ?? subscriber.lang;
        const result = await store.request({
          id: subscriber.id,
          email: subscriber.email,
          name: '',
          lang,
          requestedLang: lang,
          lists: requested,
          ip: change.ip,
          formUrl: change.formUrl,
          wording: this.#deps.wording(lang),
          source: 'preferences',
          ttlMs: this.#settings.confirmTtlDays * 86_400_000,
          resendAfterMs: this.#settings.resendAfterMs ?? TEN_MINUTES,
        });
        if (result.outcome === 'mail') this.#mailLater(result.id, result.nonce, result.expiresAt, requested, lang);
      }
    }
    const fresh = await this.#subscriber(claims);
    return { view: await this.#view(fresh), langChanged, left, requested };
  }

  async #view(subscriber: SubscriberRecord): Promise<PreferencesView> {
    const publicLists = await this.publicLists();
    const active = subscriber.status === 'active';
    return {
      email: subscriber.email,
      lang: subscriber.lang,
      status: subscriber.status,
      lists: publicLists.map((name) => ({ name, member: active && subscriber.lists.includes(name), requested: subscriber.request?.lists.includes(name) ?? false })),
    };
  }

  // ── Helpers ────────────────────────────────────────────────────────────────────

  /** Checks a link's token without touching Redis: E_TOKEN (403) when forged, altered, expired or for another page. */
  verify(token: string, action: TokenClaims['act']): TokenClaims {
    return this.#verify(token, action);
  }

  #verify(token: string, action: TokenClaims['act']): TokenClaims {
    return verifyToken(token, action, [this.#deps.secret, ...(this.#deps.previousSecrets ?? [])]);
  }

  async #subscriber(claims: TokenClaims): Promise<SubscriberRecord> {
    const subscriber = await this.#deps.store.get(claims.sub);
    if (!subscriber) throw gone();
    return subscriber;
  }

  async #listOf(claims: TokenClaims): Promise<string | null> {
    if (!claims.cmp || !this.#deps.origins) return null;
    return this.#deps.origins.listOf(claims.cmp);
  }

  #available(): boolean {
    return this.#deps.available?.() ?? true;
  }

  #log(level: 'info' | 'warn' | 'error', details: Record<string, unknown>, message: string): void {
    this.#deps.log?.(level, details, message);
  }
}

function gone(): DepescheError {
  return new DepescheError('E_NOT_FOUND', 'This subscriber no longer exists.');
}

/**
 * Whether an error means Redis cannot be reached (as opposed to Redis answering with an
 * error, or a mistake of ours). ioredis rejects at once when the connection is down and the
 * offline queue is off, and after `commandTimeout` when Redis hangs.
 */
export function isRedisDown(error: unknown): boolean {
  if (!(error instanceof Error) || isDepescheError(error)) return isDepescheError(error) && error.code === 'E_REDIS';
  if (error.name === 'ReplyError') return false;
  const code = (error as { code?: string }).code;
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /enableOfflineQueue|Connection is closed|Command timed out|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE/i.test(error.message) ||
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH'].includes(code ?? '')
  );
}
