import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keyspace } from '../config/redis.ts';
import { RedisScripts } from '../config/redis-scripts.ts';
import { DepescheError } from '../errors.ts';
import { LANGS, type Lang } from '../core/lang.ts';
import { consentEvent, type Actor, type ConsentEvent, type Wording } from './consent.ts';
import { isSubscriberId, newSubscriberId, newSubscriberIds } from './ids.ts';
import { SearchIndex, type Indexed } from './search-index.ts';
import { TRANSITIONS, type TransitionName } from './states.ts';
import { SUBSCRIBER_STATUSES, type Consent, type ListPage, type Subscriber, type SubscriberStatus, type SubscriberStore } from './types.ts';
import { checkListName, checkName, emailKey, normalizeEmail } from './validate.ts';

export type { ConsentEvent } from './consent.ts';
export { isSuppressed } from './states.ts';

/**
 * Subscribers and lists in Redis, and the one place their states change (by the table in
 * states.ts, each change one Lua script under `scripts/`). Layout, all under the keyspace's
 * hash tag:
 *
 * - `sub:<id>`             hash: email, name, lang, status, times (epoch ms), consent fields,
 *                          `l:<list>` per list (the member's join sequence), `left:<list>`
 *                          per list they left (when), `mailAt` (last confirmation mail), and
 *                          a pending request as `rq:*` fields (see scripts/request.lua)
 * - `sub:<id>:log`         the consent log: JSON events, oldest first
 * - `email`                hash: lower-cased address → id, the case-insensitive unique index
 * - `lists`                set of list names
 * - `list:<name>:members`  sorted set id → join sequence: stable order, paged by score
 * - `list-counts`          hash `<list>:<status>:<lang>` → members, exact through every script
 * - `list-visibility`      hash list → `public` | `private`
 * - `join:seq`             the join order counter
 * - `wording`              hash sha256 → the consent text shown with a form, as it was
 * - `ops-log`              ops actions that outlive a subscriber (erasures, visibility)
 * - `once:<id>`            marks a spooled unsubscribe as applied (expires)
 *
 * Ids are random (ids.ts). Every script gets each key it touches in KEYS; where that needs
 * the id or the lists first, they are read and the script checks nothing moved meanwhile.
 */

/** One subscriber as an import row or the CLI gives them. */
export interface UpsertRow {
  email: string;
  /** Absent or empty keeps an existing subscriber's name. */
  name?: string;
  /** Applied to new and existing subscribers; absent keeps an existing one's language. */
  lang?: Lang;
  /**
   * Status of a new subscriber. On an existing one only a suppression (unsubscribed,
   * bounced, complained) is applied, and only over pending or active: re-importing an
   * old file never resubscribes anyone.
   */
  status?: SubscriberStatus;
}

/** What a whole batch shares. */
export interface UpsertDefaults {
  /** Language of a new subscriber when the row has none. @defaultValue 'de' */
  defaultLang?: Lang;
  /** Status of a new subscriber when the row has none. @defaultValue 'active' */
  defaultStatus?: SubscriberStatus;
  /** Where the addresses came from, e.g. `cli`, `import:list.csv`. Set on creation. */
  source?: string;
  /** Signup time and IP, recorded on creation (with a `signup` consent event). */
  consent?: Pick<Consent, 'signupAt' | 'signupIp'>;
  /**
   * Put readers back on the list even if they left it. Only for ops acting on a reader's
   * own request; an import never does. @defaultValue false
   */
  rejoin?: boolean;
}

export interface UpsertInput extends UpsertRow, Omit<UpsertDefaults, 'defaultStatus'> {}

export type UpsertOutcome = 'created' | 'updated' | 'unchanged';

export interface UpsertResult {
  id: string;
  outcome: UpsertOutcome;
  /** Whether this call added the subscriber to the list (false when already a member or no list). */
  joined: boolean;
  /** They left this list before, so they were not put back on it. */
  keptOff?: boolean;
}

export interface ListStats {
  name: string;
  /** Public lists may be named by the sign-up form and appear in the preference centre. */
  visibility: Visibility;
  /** Members, whatever their status. */
  total: number;
  byStatus: Record<SubscriberStatus, number>;
  byLang: Record<Lang, number>;
  /** What a send would reach. */
  activeByLang: Record<Lang, number>;
}

export type Visibility = 'public' | 'private';

/** A subscriber with what the store knows beyond the contract. */
export interface SubscriberRecord extends Subscriber {
  /** The lists they are on now. */
  lists: string[];
  /** Lists they left, with when: no import puts them back there. */
  left: Record<string, string>;
  statusReason?: string;
  unsubscribedAt?: string;
  unsubscribedVia?: string;
  /** A request waiting for its confirmation link, if any. */
  request?: PendingRequest;
}

export interface PendingRequest {
  at: string;
  lists: string[];
  lang?: Lang;
  expiresAt: string;
  source: string;
  sentAt?: string;
}

/** A request from the public side, for {@link RedisSubscriberStore.request}. */
export interface RequestInput {
  email: string;
  /** Known subscriber the request is for (the preference centre); absent: found by address. */
  id?: string;
  /** Stored only when the address is new. */
  name: string;
  /** Language of the record when the address is new. */
  lang: Lang;
  /** Language the request asks for; absent asks for no change. */
  requestedLang?: Lang;
  lists: string[];
  ip: string;
  formUrl: string;
  wording: Wording;
  source: 'form' | 'preferences';
  /** How long the link stays valid. */
  ttlMs: number;
  /** No second mail within this window. */
  resendAfterMs: number;
}

export type RequestResult =
  | { outcome: 'mail'; id: string; nonce: string; expiresAt: number }
  /** A mail went out within the resend window: nothing stored, nothing sent. */
  | { outcome: 'throttled'; id: string }
  /** The address complained: never mailed, not even this. */
  | { outcome: 'quiet'; id: string };

export type ConfirmResult =
  | { outcome: 'confirmed'; previousStatus: SubscriberStatus; lang: Lang; joined: string[] }
  | { outcome: 'gone' | 'expired' | 'missing' };

/** How a change ended: applied, nothing to do, not allowed from the current state, or applied before (once-key). */
export type ChangeResult = 'changed' | 'unchanged' | 'refused' | 'done-before';

export interface LeaveOptions {
  /** How: `one-click`, `page`, `preferences`, `mail`, `cli`, `admin-api`. */
  via: string;
  /** The reader left: leaving their last list unsubscribes them. Ops removals do not. */
  byReader: boolean;
  /** Applies at most once under this id (a spooled unsubscribe replayed). */
  once?: string;
  actor?: Actor;
  ip?: string;
}

const OUTCOMES = ['unchanged', 'created', 'updated'] as const;
/** The counts layout this code writes; older installations are moved on first use. */
const LAYOUT = 2;
/** How long a spooled unsubscribe stays marked as applied. */
const ONCE_TTL_S = 180 * 86_400;

const FIELD_TO_CONSENT: Record<string, keyof Consent> = {
  signupAt: 'signupAt',
  signupIp: 'signupIp',
  src: 'source',
  formUrl: 'formUrl',
  sentAt: 'confirmationSentAt',
  confMid: 'confirmationMessageId',
  confAt: 'confirmedAt',
  confIp: 'confirmedIp',
};
const TIME_FIELDS = new Set(['created', 'updated', 'signupAt', 'sentAt', 'confAt', 'unsubAt']);

const iso = (ms: string) => new Date(Number(ms)).toISOString();
const ms = (date: string | Date | undefined): string => {
  const time = date === undefined ? NaN : new Date(date).getTime();
  return Number.isFinite(time) ? String(time) : '';
};
const zeroStatuses = () => Object.fromEntries(SUBSCRIBER_STATUSES.map((s) => [s, 0])) as Record<SubscriberStatus, number>;
const zeroLangs = () => Object.fromEntries(LANGS.map((l) => [l, 0])) as Record<Lang, number>;
const json = (event: ConsentEvent) => JSON.stringify(event);

type ScriptName = 'upsert' | 'status' | 'leave' | 'request' | 'sent' | 'confirm' | 'forget' | 'migrate-counts';
const scripts = new RedisScripts<ScriptName>(
  new URL('./scripts/', import.meta.url),
  ['upsert', 'status', 'leave', 'request', 'sent', 'confirm', 'forget', 'migrate-counts'],
  'sub',
);

/** Rows per script call during bulk upserts: large enough to amortize, small enough not to stall Redis. */
export const UPSERT_CHUNK = 500;
/** A script that found its keys changed under it is run again this often before giving up. */
const RETRIES = 5;

export class RedisSubscriberStore implements SubscriberStore {
  readonly redis: Redis;
  readonly keys: Keyspace;
  /** Addresses and names for the console's search, kept on every write that sets them. */
  readonly search: SearchIndex;
  #layout: Promise<void> | undefined;
  readonly #archived = new Set<string>();

  constructor(redis: Redis, keys: Keyspace) {
    this.redis = redis;
    this.keys = keys;
    this.search = new SearchIndex(redis, keys);
  }

  #sub(id: string): string {
    return this.keys.key('sub', id);
  }
  #log(id: string): string {
    return this.keys.key('sub', id, 'log');
  }
  #members(list: string): string {
    return this.keys.key('list', list, 'members');
  }
  get #counts(): string {
    return this.keys.key('list-counts');
  }
  get #index(): string {
    return this.keys.key('email');
  }
  get #lists(): string {
    return this.keys.key('lists');
  }

  #run(name: ScriptName, keys: string[], args: (string | number)[]): Promise<unknown> {
    return scripts.run(this.redis, name, keys, args);
  }

  /** Counts moved to the one-hash layout once; every count-touching call waits for it. */
  #ready(): Promise<void> {
    this.#layout ??= (async () => {
      const version = Number((await this.redis.get(this.keys.key('layout'))) ?? 0);
      if (version >= LAYOUT) return;
      const names = await this.redis.smembers(this.#lists);
      await this.#run('migrate-counts', [this.keys.key('layout'), this.#counts, ...names.map((n) => this.keys.key('list', n, 'counts'))], [LAYOUT, ...names]);
    })();
    this.#layout.catch(() => (this.#layout = undefined));
    return this.#layout;
  }

  // ── Reads ──────────────────────────────────────────────────────────────────────

  async get(id: string): Promise<SubscriberRecord | null> {
    if (!isSubscriberId(id)) return null;
    return parseSubscriber(id, await this.redis.hgetall(this.#sub(id)));
  }

  async getMany(ids: string[]): Promise<(SubscriberRecord | null)[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    // An invalid id still takes its place in the pipeline, so replies line up with ids.
    for (const id of ids) pipeline.hgetall(this.#sub(isSubscriberId(id) ? id : '0'));
    const replies = (await pipeline.exec()) ?? [];
    return ids.map((id, i) => {
      const [error, hash] = replies[i] ?? [new Error('no reply'), null];
      if (error) throw new DepescheError('E_REDIS', `Reading subscriber ${id} failed: ${error.message}`, { cause: error });
      return isSubscriberId(id) ? parseSubscriber(id, hash as Record<string, string>) : null;
    });
  }

  async findByEmail(email: string): Promise<SubscriberRecord | null> {
    const id = await this.idByEmail(email);
    return id === null ? null : this.get(id);
  }

  async idByEmail(email: string): Promise<string | null> {
    if (typeof email !== 'string') return null;
    return this.redis.hget(this.#index, emailKey(email.trim()));
  }

  async listExists(list: string): Promise<boolean> {
    return (await this.redis.sismember(this.#lists, list)) === 1;
  }

  /**
   * Members in the order they joined. The cursor is the join sequence of the last member
   * returned; members who join during iteration come at the end, and removing members
   * does not shift anyone else.
   */
  async page(list: string, cursor: string | null, limit: number): Promise<ListPage> {
    if (cursor !== null && !/^\d+$/.test(cursor)) {
      throw new DepescheError('E_INPUT', `Invalid list cursor "${cursor}".`, { hint: 'Pass null to start, then the `next` of the previous page.' });
    }
    if (!Number.isInteger(limit) || limit < 1) throw new DepescheError('E_INPUT', `Page size must be a positive whole number, got ${limit}.`);
    const reply = await this.redis.zrange(this.#members(list), cursor === null ? '-inf' : `(${cursor}`, '+inf', 'BYSCORE', 'LIMIT', 0, limit + 1, 'WITHSCORES');
    const ids: string[] = [];
    const count = Math.min(limit, reply.length / 2);
    for (let i = 0; i < count; i++) ids.push(reply[i * 2]!);
    const next = reply.length / 2 > limit ? reply[count * 2 - 1]! : null;
    return { ids, next };
  }

  async countActiveByLang(list: string): Promise<Record<Lang, number>> {
    await this.#ready();
    const values = await this.redis.hmget(this.#counts, ...LANGS.map((lang) => `${list}:active:${lang}`));
    const out = zeroLangs();
    LANGS.forEach((lang, i) => (out[lang] = Number(values[i] ?? 0)));
    return out;
  }

  /** Every list with its members by status and language, and its visibility. */
  async lists(defaultList?: string): Promise<ListStats[]> {
    await this.#ready();
    const [names, counts, visibility] = await Promise.all([
      this.redis.smembers(this.#lists),
      this.redis.hgetall(this.#counts),
      this.redis.hgetall(this.keys.key('list-visibility')),
    ]);
    const byName = new Map<string, ListStats>();
    for (const name of names.sort()) {
      byName.set(name, { name, visibility: visibilityOf(name, visibility[name], defaultList), total: 0, byStatus: zeroStatuses(), byLang: zeroLangs(), activeByLang: zeroLangs() });
    }
    for (const [field, value] of Object.entries(counts)) {
      // `<list>:<status>:<lang>`; list names hold no colon.
      const [name, status, lang] = field.split(':') as [string, SubscriberStatus, Lang];
      const stats = byName.get(name);
      const n = Number(value);
      if (!stats || !(status in stats.byStatus) || !(lang in stats.byLang)) continue;
      stats.total += n;
      stats.byStatus[status] += n;
      stats.byLang[lang] += n;
      if (status === 'active') stats.activeByLang[lang] += n;
    }
    return [...byName.values()];
  }

  /** Every member of a list in join order, a page at a time; for export. */
  async *iterate(list: string, pageSize = 1000): AsyncGenerator<SubscriberRecord[]> {
    let cursor: string | null = null;
    do {
      const page: ListPage = await this.page(list, cursor, pageSize);
      const subscribers = (await this.getMany(page.ids)).filter((s): s is SubscriberRecord => s !== null);
      if (subscribers.length > 0) yield subscribers;
      cursor = page.next;
    } while (cursor !== null);
  }

  /** The consent log of one subscriber, oldest first. */
  async consentLog(id: string): Promise<ConsentEvent[]> {
    if (!isSubscriberId(id)) return [];
    const entries = await this.redis.lrange(this.#log(id), 0, -1);
    return entries.map((entry) => JSON.parse(entry) as ConsentEvent);
  }

  // ── Lists and their visibility ─────────────────────────────────────────────────

  /** Declares an empty list, so sends can name it before anyone joins. Private until made public. */
  async createList(list: string): Promise<void> {
    const checked = checkListName(list);
    if (!checked.ok) throw new DepescheError('E_INPUT', checked.reason);
    await this.redis.sadd(this.#lists, list);
  }

  /**
   * Public or private, per name. A list is private unless ops made it public, except the
   * `defaultList` (DEFAULT_LIST), which is public unless ops made it private.
   */
  async visibility(lists: string[], defaultList: string): Promise<Record<string, Visibility>> {
    if (lists.length === 0) return {};
    const values = await this.redis.hmget(this.keys.key('list-visibility'), ...lists);
    return Object.fromEntries(lists.map((name, i) => [name, visibilityOf(name, values[i] ?? undefined, defaultList)]));
  }

  /** The lists the sign-up form may name and the preference centre shows: public, and existing or the default. */
  async publicLists(defaultList: string): Promise<string[]> {
    const [names, explicit] = await Promise.all([this.redis.smembers(this.#lists), this.redis.hgetall(this.keys.key('list-visibility'))]);
    const all = new Set([...names, defaultList]);
    return [...all].filter((name) => visibilityOf(name, explicit[name], defaultList) === 'public').sort();
  }

  async setVisibility(list: string, visibility: Visibility, actor: Actor): Promise<void> {
    const checked = checkListName(list);
    if (!checked.ok) throw new DepescheError('E_INPUT', checked.reason);
    const multi = this.redis.multi();
    multi.hset(this.keys.key('list-visibility'), list, visibility);
    multi.sadd(this.#lists, list);
    multi.rpush(this.keys.key('ops-log'), json(consentEvent('list-visibility', { list, status: undefined, reason: actor.reason, by: actor.by, via: visibility })));
    await multi.exec();
  }

  /** Installation-level ops actions (erasures, visibility changes), oldest first. */
  async opsLog(): Promise<ConsentEvent[]> {
    return (await this.redis.lrange(this.keys.key('ops-log'), 0, -1)).map((line) => JSON.parse(line) as ConsentEvent);
  }

  // ── Imports and ops writes ─────────────────────────────────────────────────────

  /** Adds or updates one subscriber, and joins them to `list` if given. Idempotent. */
  async upsert(input: UpsertInput, list?: string): Promise<UpsertResult & { subscriber: SubscriberRecord }> {
    const { email, name, lang, status, ...defaults } = input;
    const row: UpsertRow = { email };
    if (name !== undefined) row.name = name;
    if (lang !== undefined) row.lang = lang;
    if (status !== undefined) row.status = status;
    const [result] = await this.upsertMany([row], list, defaults);
    const subscriber = await this.get(result!.id);
    return { ...result!, subscriber: subscriber! };
  }

  /**
   * Bulk upsert for imports: one script call per {@link UPSERT_CHUNK} rows, all chunks
   * pipelined. The ids are looked up first (one pipelined HMGET), so each script names
   * every subscriber key it writes; a row whose address changed hands meanwhile is run
   * again. Throws E_INPUT on an invalid address or name; callers that must report rows one
   * by one validate first (see import.ts).
   */
  async upsertMany(rows: UpsertRow[], list?: string, defaults: UpsertDefaults = {}): Promise<UpsertResult[]> {
    if (rows.length === 0) return [];
    if (list !== undefined) {
      const checked = checkListName(list);
      if (!checked.ok) throw new DepescheError('E_INPUT', checked.reason);
    }
    await this.#ready();
    const prepared = rows.map((row) => {
      const email = normalizeEmail(row.email);
      if (!email.ok) throw new DepescheError('E_INPUT', email.reason);
      const name = checkName(row.name);
      if (!name.ok) throw new DepescheError('E_INPUT', name.reason);
      return { email: email.value, key: emailKey(email.value), name: name.value, lang: row.lang ?? '', status: row.status ?? '' };
    });
    const signup = defaults.consent?.signupAt !== undefined || defaults.consent?.signupIp !== undefined;
    const results: (UpsertResult | undefined)[] = new Array(rows.length);
    let pending = prepared.map((_, i) => i);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt >= RETRIES) throw new DepescheError('E_CONFLICT', 'Saving subscribers kept racing with other writes to the same addresses.', { hint: 'Run the command again.' });
      const lookup = this.redis.pipeline();
      for (let start = 0; start < pending.length; start += UPSERT_CHUNK) {
        lookup.hmget(this.#index, ...pending.slice(start, start + UPSERT_CHUNK).map((i) => prepared[i]!.key));
      }
      const found = ((await lookup.exec()) ?? []).flatMap(([error, ids]) => {
        if (error) throw new DepescheError('E_REDIS', `Reading subscribers failed: ${error.message}`, { cause: error });
        return ids as (string | null)[];
      });
      // The names being replaced, so the search index lets go of them (search-index.ts).
      const renamed = pending.flatMap((i, j) => (found[j] && prepared[i]!.name ? [found[j]!] : []));
      const before = new Map((await this.getMany(renamed)).flatMap((s): [string, Indexed][] => (s ? [[s.id, s]] : [])));
      const now = new Date();
      const head = [
        String(now.getTime()),
        list ?? '',
        defaults.defaultLang ?? 'de',
        defaults.defaultStatus ?? 'active',
        defaults.source ?? '',
        ms(defaults.consent?.signupAt),
        defaults.consent?.signupIp ?? '',
        signup ? json(consentEvent('signup', { ip: defaults.consent?.signupIp, source: defaults.source }, now)) : '',
        now.toISOString(),
        defaults.rejoin ? '1' : '0',
      ];
      const pipeline = scripts.pipeline(this.redis);
      const chunks: number[][] = [];
      for (let start = 0; start < pending.length; start += UPSERT_CHUNK) {
        const chunk = pending.slice(start, start + UPSERT_CHUNK);
        chunks.push(chunk);
        const keys = [this.#index, this.#counts, this.#members(list ?? ''), this.#lists, this.keys.key('join', 'seq')];
        const args = [...head];
        const ids = newSubscriberIds(chunk.length);
        const subPrefix = `${this.keys.key('sub')}:`;
        // The same address twice in one chunk is one subscriber: the later row wins.
        const freshIds = new Map<string, string>();
        chunk.forEach((rowIndex, j) => {
          const row = prepared[rowIndex]!;
          const known = found[start + j];
          let id = known ?? freshIds.get(row.key);
          if (!id) {
            id = ids[j]!;
            freshIds.set(row.key, id);
          }
          const sub = subPrefix + id;
          keys.push(sub, `${sub}:log`);
          args.push(id, known ? '0' : '1', row.email, row.key, row.name, row.lang, row.status);
        });
        scripts.queue(pipeline, 'upsert', keys, args);
      }
      const replies = (await pipeline.exec()) ?? [];
      const retry: number[] = [];
      replies.forEach(([error, reply], c) => {
        if (error) throw new DepescheError('E_REDIS', `Saving subscribers failed: ${error.message}`, { cause: error });
        const flat = reply as (string | number)[];
        chunks[c]!.forEach((rowIndex, j) => {
          const outcome = Number(flat[j * 3 + 1]);
          if (outcome === 3) {
            retry.push(rowIndex);
            return;
          }
          const joined = Number(flat[j * 3 + 2]);
          results[rowIndex] = { id: String(flat[j * 3]), outcome: OUTCOMES[outcome]!, joined: joined === 1, ...(joined === 2 ? { keptOff: true } : {}) };
        });
      });
      pending = retry;
      const indexed = chunks.flat().flatMap((i): Indexed[] => {
        const result = results[i];
        if (!result || retry.includes(i)) return [];
        const { email, name } = prepared[i]!;
        return result.outcome === 'created' || (result.outcome === 'updated' && name) ? [{ id: result.id, email, name }] : [];
      });
      await this.search.update(indexed, before);
    }
    return results as UpsertResult[];
  }

  /** Joins an existing subscriber to a list; false when they were already a member (or left it). */
  async addToList(id: string, list: string, options: { rejoin?: boolean } = {}): Promise<boolean> {
    const subscriber = await this.get(id);
    if (!subscriber) throw notFound(id);
    const [result] = await this.upsertMany([{ email: subscriber.email }], list, options.rejoin ? { rejoin: true } : {});
    return result!.joined;
  }

  // ── State changes (states.ts) ──────────────────────────────────────────────────

  /**
   * One row of the transition table, as one script: refused unless the subscriber's status
   * is one the row starts from, logged with how and (for ops) by whom and why.
   */
  async transition(
    id: string,
    name: TransitionName,
    details: { via?: string; reason?: string; actor?: Actor; source?: string; once?: string; ip?: string; event?: string } = {},
  ): Promise<ChangeResult> {
    const rule = TRANSITIONS[name];
    const now = Date.now();
    const reason = details.actor?.reason ?? details.reason ?? '';
    const fields: string[] = ['reason', reason || details.via || name];
    if (rule.to === 'unsubscribed') fields.push('unsubAt', String(now), 'unsubVia', details.via ?? 'ops');
    const event = consentEvent(details.event ?? (rule.to === 'active' ? 'reactivated' : rule.to), {
      status: rule.to,
      via: details.via,
      reason: details.actor?.reason ?? details.reason,
      by: details.actor?.by,
      source: details.source,
      ip: details.ip,
    }, new Date(now));
    const result = await this.#status(id, { status: rule.to, from: rule.from, log: event, fields, dropRequest: rule.to !== 'active', once: details.once });
    if (result === 'missing') throw notFound(id);
    if (result === 'refused' && rule.otherwise === 'refuse') {
      const current = (await this.get(id))?.status;
      throw new DepescheError('E_CONFLICT', `Subscriber ${id} is ${current}; "${name}" starts only from ${rule.from.join(' or ')}.`, {
        hint: name === 'reactivate' ? 'An unsubscribe or a complaint is undone only by the reader, who can sign up again and confirm.' : undefined,
      });
    }
    return result === 'refused' && rule.otherwise === 'ignore' ? 'unchanged' : result;
  }

  /** The send's contract: a bounce (or another status by its transition). */
  async setStatus(id: string, status: SubscriberStatus, reason?: string): Promise<void> {
    const name: TransitionName | undefined =
      status === 'bounced' ? 'bounce' : status === 'complained' ? 'complain' : status === 'unsubscribed' ? 'unsubscribe' : status === 'active' ? 'reactivate' : undefined;
    if (!name) throw new DepescheError('E_CONFLICT', `No transition leads to "${status}".`, { hint: 'A reader becomes pending only by a request from the public side.' });
    await this.transition(id, name, { reason, via: name === 'bounce' ? 'smtp' : 'admin' });
  }

  /**
   * The reader (or ops, on their behalf) stops all mail. Takes effect at once: the sender
   * reads status per recipient. Idempotent; a pending request dies with it.
   */
  async unsubscribe(id: string, via: string, options: { once?: string; actor?: Actor; ip?: string } = {}): Promise<ChangeResult> {
    return this.transition(id, 'unsubscribe', { via, ...options });
  }

  /** A hard bounce (SMTP 5.1.x at send time, or a DSN from the return path). Ignored when already suppressed. */
  async bounce(id: string, details: { reason: string; source: string }): Promise<ChangeResult> {
    return this.transition(id, 'bounce', { reason: details.reason, via: details.source, source: details.source });
  }

  /** A spam complaint (ARF): final. Never mailed again, not even a confirmation. */
  async complain(id: string, details: { reason: string; source: string }): Promise<ChangeResult> {
    return this.transition(id, 'complain', { reason: details.reason, via: details.source, source: details.source });
  }

  /** Ops undo a bounce. Refused (E_CONFLICT) for anything but bounced: unsubscribes and complaints stay. */
  async reactivate(id: string, actor: Actor): Promise<ChangeResult> {
    return this.transition(id, 'reactivate', { actor, via: 'ops' });
  }

  /** Language of the issues: the reader through the preference centre, or ops (with who and why). */
  async setLang(id: string, lang: Lang, change: { via: string; actor?: Actor; ip?: string }): Promise<ChangeResult> {
    const event = consentEvent('lang-changed', { lang, via: change.via, by: change.actor?.by, reason: change.actor?.reason, ip: change.ip });
    const result = await this.#status(id, { lang, log: event, fields: [] });
    if (result === 'missing') throw notFound(id);
    return result;
  }

  /**
   * Leaves one list, remembered so no import puts them back. When the reader leaves their
   * last list they are unsubscribed too, so a send under way skips them.
   */
  async leaveList(id: string, list: string, options: LeaveOptions): Promise<{ wasMember: boolean; status: SubscriberStatus } | 'done-before'> {
    if (!isSubscriberId(id)) throw notFound(id);
    await this.#ready();
    const now = new Date();
    const details = { via: options.via, by: options.actor?.by, reason: options.actor?.reason, ip: options.ip };
    const keys = [this.#sub(id), this.#log(id), this.#counts, this.#members(list)];
    if (options.once) keys.push(this.keys.key('once', options.once));
    const reply = (await this.#run('leave', keys, [
      String(now.getTime()),
      id,
      list,
      json(consentEvent('left', { list, ...details }, now)),
      options.byReader ? '1' : '0',
      json(consentEvent('unsubscribed', { ...details, reason: `left the last list, ${list}` }, now)),
      options.via,
      ONCE_TTL_S,
    ])) as [number, string?];
    if (reply[0] === -1) throw notFound(id);
    if (reply[0] === -3) return 'done-before';
    return { wasMember: reply[0] === 1, status: reply[1] as SubscriberStatus };
  }

  /** Ops take a subscriber off one list (remembered as left); their status stays. False when not a member. */
  async removeFromList(id: string, list: string, actor?: Actor): Promise<boolean> {
    if (!isSubscriberId(id)) return false;
    const result = await this.leaveList(id, list, { via: 'ops', byReader: false, ...(actor ? { actor } : {}) });
    return result !== 'done-before' && result.wasMember;
  }

  /**
   * Erasure on request (GDPR Art. 17): the record, the consent log, every membership and
   * the index entry go; the ops log keeps that it happened, by whom and why, without the
   * address. Nothing then stops a later import from adding the address again; to keep
   * someone from ever being mailed, unsubscribe them instead. False when unknown.
   */
  async forget(id: string, actor: Actor = { by: 'unknown', reason: 'not given' }): Promise<boolean> {
    await this.#ready();
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const subscriber = await this.get(id);
      if (!subscriber) return false;
      const lists = [...subscriber.lists].sort();
      const entry = json(consentEvent('erased', { by: actor.by, reason: actor.reason, source: `subscriber ${id}` }));
      const result = Number(
        await this.#run('forget', [this.#sub(id), this.#log(id), this.#index, this.#counts, this.keys.key('ops-log'), ...lists.map((l) => this.#members(l))], [
          id,
          emailKey(subscriber.email),
          entry,
          lists.join(','),
        ]),
      );
      if (result === 1) await this.search.remove(subscriber);
      if (result !== -4) return result === 1;
    }
    throw new DepescheError('E_CONFLICT', `Subscriber ${id} kept changing lists while being erased.`, { hint: 'Run the command again.' });
  }

  // ── Requests from the public side: only a confirmation applies them ────────────

  /**
   * Stores a request (creating an unknown address as pending, on no list), to be mailed.
   * The same work for any address, so the answer takes the same time whoever it is for.
   */
  async request(input: RequestInput): Promise<RequestResult> {
    const email = normalizeEmail(input.email);
    if (!email.ok) throw new DepescheError('E_INPUT', email.reason);
    const key = emailKey(email.value);
    this.#archiveWording(input.wording);
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const known = input.id ?? (await this.redis.hget(this.#index, key));
      const id = known ?? newSubscriberId();
      const nonce = randomBytes(12).toString('base64url');
      const now = new Date();
      const expiresAt = now.getTime() + input.ttlMs;
      const event = consentEvent('requested', {
        ip: input.ip,
        source: input.source,
        formUrl: input.formUrl,
        lists: input.lists,
        lang: input.requestedLang,
        wording: { version: input.wording.version, hash: input.wording.hash },
      }, now);
      const [outcome] = (await this.#run('request', [this.#index, this.#sub(id), this.#log(id)], [
        String(now.getTime()),
        now.toISOString(),
        id,
        known ? '0' : '1',
        email.value,
        key,
        input.name,
        input.lang,
        input.requestedLang ?? '',
        input.lists.join(','),
        nonce,
        String(expiresAt),
        input.ip,
        input.formUrl,
        input.wording.version,
        input.wording.hash,
        String(input.resendAfterMs),
        input.source,
        json(event),
      ])) as [string];
      if (outcome === 'mail' && !known) await this.search.update([{ id, email: email.value, name: input.name }]);
      if (outcome === 'mail') return { outcome, id, nonce, expiresAt };
      if (outcome === 'throttled' || outcome === 'quiet') return { outcome, id };
      if (input.id) throw notFound(input.id);
    }
    throw new DepescheError('E_CONFLICT', 'The address kept changing while the request was stored.', { hint: 'Send the form again.' });
  }

  /** The confirmation mail of a request went out (with its Message-ID) or finally failed. */
  async requestMailed(id: string, nonce: string, result: { messageId: string } | { error: string }): Promise<void> {
    const sent = 'messageId' in result;
    const event = sent ? consentEvent('confirmation-sent', { messageId: result.messageId }) : consentEvent('confirmation-failed', { reason: result.error });
    await this.#run('sent', [this.#sub(id), this.#log(id)], [nonce, sent ? 'sent' : 'failed', String(Date.now()), sent ? result.messageId : '', json(event)]);
  }

  /**
   * The reader confirmed: applies the request the nonce belongs to and writes the consent
   * record. An empty nonce is a link mailed before requests had nonces; it confirms only
   * a sign-up still pending as the old form left it.
   */
  async confirmRequest(id: string, nonce: string, ip: string): Promise<ConfirmResult> {
    if (!isSubscriberId(id)) return { outcome: 'missing' };
    await this.#ready();
    for (let attempt = 0; attempt < RETRIES; attempt++) {
      const requested = (await this.redis.hget(this.#sub(id), 'rq:l')) ?? '';
      const lists = nonce ? requested.split(',').filter(Boolean) : [];
      const now = new Date();
      const reply = (await this.#run(
        'confirm',
        [this.#sub(id), this.#log(id), this.#counts, this.#lists, this.keys.key('join', 'seq'), ...lists.map((l) => this.#members(l))],
        [String(now.getTime()), now.toISOString(), id, nonce, ip, lists.join(',')],
      )) as string[];
      const [outcome, previous, lang, ...joined] = reply;
      if (outcome === 'ok') return { outcome: 'confirmed', previousStatus: previous as SubscriberStatus, lang: lang as Lang, joined };
      if (outcome !== 'retry') return { outcome: outcome as 'gone' | 'expired' | 'missing' };
    }
    throw new DepescheError('E_CONFLICT', 'The request kept changing while it was confirmed.', { hint: 'Press the button again.' });
  }

  /** Whether `nonce` belongs to the subscriber's pending request (its link is alive). */
  async isCurrentRequest(id: string, nonce: string): Promise<boolean> {
    if (!isSubscriberId(id) || !nonce) return false;
    return (await this.redis.hget(this.#sub(id), 'rq:n')) === nonce;
  }

  /** The consent text a record's hash names, as it was shown. */
  async wordingText(hash: string): Promise<Wording | null> {
    const text = await this.redis.hget(this.keys.key('wording'), hash);
    return text ? (JSON.parse(text) as Wording) : null;
  }

  // Each text is written once per process; HSETNX keeps the first copy for good.
  #archiveWording(wording: Wording): void {
    if (this.#archived.has(wording.hash)) return;
    this.#archived.add(wording.hash);
    this.redis.hsetnx(this.keys.key('wording'), wording.hash, JSON.stringify(wording)).catch(() => this.#archived.delete(wording.hash));
  }

  async #status(
    id: string,
    change: { status?: SubscriberStatus; lang?: Lang; from?: readonly SubscriberStatus[]; log?: ConsentEvent; fields: string[]; dropRequest?: boolean; once?: string | undefined },
  ): Promise<ChangeResult | 'missing'> {
    if (!isSubscriberId(id)) return 'missing';
    await this.#ready();
    const keys = [this.#sub(id), this.#log(id), this.#counts];
    if (change.once) keys.push(this.keys.key('once', change.once));
    const result = Number(
      await this.#run('status', keys, [
        String(Date.now()),
        change.status ?? '',
        change.lang ?? '',
        (change.from ?? []).join(','),
        change.log ? json(change.log) : '',
        change.dropRequest ? '1' : '0',
        ONCE_TTL_S,
        ...change.fields,
      ]),
    );
    return result === -1 ? 'missing' : result === -2 ? 'refused' : result === -3 ? 'done-before' : result === 0 ? 'unchanged' : 'changed';
  }
}

function visibilityOf(list: string, explicit: string | undefined, defaultList: string | undefined): Visibility {
  if (explicit === 'public' || explicit === 'private') return explicit;
  return list === defaultList ? 'public' : 'private';
}

function notFound(id: string): DepescheError {
  return new DepescheError('E_NOT_FOUND', `No subscriber with id ${id}.`, { hint: 'Look the address up with `depesche subscribers show <email>`.' });
}

function parseSubscriber(id: string, hash: Record<string, string> | null): SubscriberRecord | null {
  if (!hash || hash.email === undefined) return null;
  const consent: Consent = {};
  const lists: string[] = [];
  const left: Record<string, string> = {};
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith('l:')) lists.push(field.slice(2));
    else if (field.startsWith('left:')) left[field.slice(5)] = iso(value);
    const consentKey = FIELD_TO_CONSENT[field];
    if (consentKey && value !== '') (consent as Record<string, unknown>)[consentKey] = TIME_FIELDS.has(field) ? iso(value) : value;
  }
  if (hash.wv || hash.wh) consent.wording = { version: hash.wv ?? '', hash: hash.wh ?? '' };
  const record: SubscriberRecord = {
    id,
    email: hash.email,
    name: hash.name ?? '',
    lang: hash.lang as Lang,
    status: hash.status as SubscriberStatus,
    createdAt: iso(hash.created ?? '0'),
    updatedAt: iso(hash.updated ?? hash.created ?? '0'),
    consent,
    lists: lists.sort(),
    left,
  };
  if (hash.reason) record.statusReason = hash.reason;
  if (hash.unsubAt) record.unsubscribedAt = iso(hash.unsubAt);
  if (hash.unsubVia) record.unsubscribedVia = hash.unsubVia;
  if (hash['rq:n']) {
    record.request = {
      at: hash['rq:at'] ?? '',
      lists: (hash['rq:l'] ?? '').split(',').filter(Boolean),
      expiresAt: iso(hash['rq:exp'] ?? '0'),
      source: hash['rq:src'] ?? '',
      ...(hash['rq:lang'] ? { lang: hash['rq:lang'] as Lang } : {}),
      ...(hash['rq:sent'] ? { sentAt: iso(hash['rq:sent']) } : {}),
    };
  }
  return record;
}
