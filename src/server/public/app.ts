import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import type { Config } from '../../config/schema.ts';
import { httpStatusOf } from '../../core/http-status.ts';
import { publicUrls } from '../../core/public-urls.ts';
import { requireSecret } from '../../config/load.ts';
import { previousSecrets } from '../../config/preflight.ts';
import { DepescheError, isDepescheError } from '../../errors.ts';
import type { Translator } from '../../i18n/index.ts';
import type { Logger } from '../../log.ts';
import { isLang, LANGS, type Lang } from '../../core/lang.ts';
import type { RedisSubscriberStore, SubscriberRecord } from '../../subscribers/redis-store.ts';
import { signToken, verifyToken, type TokenAction } from '../../subscribers/tokens.ts';
import { checkLang, checkListName, checkName, normalizeEmail } from '../../subscribers/validate.ts';
import type { Transport } from '../../transport/types.ts';
import { confirmMail } from './confirm-mail.ts';
import { html, messagePage, preferencesPage, subscribePage, unsubscribedPage, unsubscribePage, type PageContext } from './pages.ts';

export interface PublicAppDeps {
  config: Config;
  store: RedisSubscriberStore;
  translator: Translator;
  /** Sends the confirmation mails. */
  transport: Transport;
  logger?: Logger;
}

/** A 400 that names the offending field, for both the page and the JSON answer. */
export class FieldError extends DepescheError {
  readonly field: string;
  constructor(field: string, reason: string) {
    super('E_INPUT', reason.startsWith(field) ? reason : `${field}: ${reason}`, { hint: `Check the "${field}" field.` });
    this.field = field;
  }
}

/** A pending address gets at most one confirmation mail in this window. */
const RESEND_AFTER_MS = 10 * 60_000;

/**
 * The public app: subscribe with double opt-in, confirm, one-click unsubscribe (RFC 8058)
 * and preferences. Returns the instance unstarted, so `depesche serve`/`dev` can mount
 * more routes (the archive) before listening.
 *
 * Every token page answers without cookies, redirects or scripts, and with
 * `Referrer-Policy: no-referrer`, since the token in the URL is the subscriber's key.
 */
export async function buildPublicApp(deps: PublicAppDeps): Promise<FastifyInstance> {
  const { config, store, translator: t, transport } = deps;
  const secret = requireSecret(config);
  const urls = publicUrls(config.PUBLIC_URL);
  const site = displayName(config.MAIL_FROM) ?? t.t('en', 'public.siteName');

  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    trustProxy: trustProxy(config.TRUST_PROXY),
    bodyLimit: 16 * 1024,
    // Shutdown must not wait on idle keep-alive sockets of mail clients and browsers.
    forceCloseConnections: true,
    // Signed tokens travel as path parameters and outgrow the default limit of 100.
    routerOptions: { maxParamLength: 1024 },
  }) as unknown as FastifyInstance;

  await app.register(formbody);
  // RFC 8058 lets a mail client send the one-click body as multipart/form-data too.
  app.addContentTypeParser('multipart/form-data', { parseAs: 'string' }, (request, body, done) => {
    done(null, parseMultipart(String(body), String(request.headers['content-type'])));
  });
  await app.register(rateLimit, {
    global: false,
    redis: store.redis,
    nameSpace: `${store.keys.key('ratelimit')}:`,
    errorResponseBuilder: (_request, context) => Object.assign(new Error(`Rate limit exceeded, retry in ${context.after}`), { statusCode: 429 }),
  });

  // Subscriber routes in their own scope: their strict headers and page-shaped errors must
  // not reach routes mounted beside them, such as the archive with its images and caching.
  await app.register(async (scope) => {
    // The page language of this request, for error pages: the subscriber's once known.
    const pageLang = new WeakMap<FastifyRequest, Lang>();
    const ctx = (request: FastifyRequest, lang?: Lang): PageContext => {
      const chosen = lang ?? negotiate(request);
      pageLang.set(request, chosen);
      return { t, lang: chosen, site };
    };
    const sendPage = (reply: FastifyReply, status: number, body: string) => reply.code(status).type('text/html; charset=utf-8').send(body);

    scope.addHook('onSend', async (_request, reply, payload) => {
      reply.header('Referrer-Policy', 'no-referrer');
      reply.header('Cache-Control', 'no-store');
      reply.header('X-Content-Type-Options', 'nosniff');
      reply.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
      return payload;
    });

    scope.setErrorHandler((error: FastifyError | DepescheError, request, reply) => {
      const lang = pageLang.get(request) ?? negotiate(request);
      const c: PageContext = { t, lang, site };
      let status: number;
      let code: string;
      let text: string;
      let field: string | undefined;
      if (error instanceof FieldError) {
        status = 400;
        code = error.code;
        field = error.field;
        const label = t.has(lang, `public.error.field.${field}`) ? t.t(lang, `public.error.field.${field}`) : field;
        text = t.t(lang, 'public.error.input', { field: label });
      } else if (isDepescheError(error)) {
        status = httpStatusOf(error.code);
        code = error.code;
        text =
          error.code === 'E_TOKEN' ? t.t(lang, 'public.error.token')
          : error.code === 'E_NOT_FOUND' ? t.t(lang, 'public.error.notFound')
          : error.code === 'E_SMTP' ? t.t(lang, 'public.error.send')
          : t.t(lang, 'public.error.internal');
      } else if ((error as FastifyError).statusCode === 429) {
        status = 429;
        code = 'E_RATE_LIMIT';
        text = t.t(lang, 'public.error.rateLimit');
      } else if ((error as FastifyError).statusCode && (error as FastifyError).statusCode! < 500) {
        status = (error as FastifyError).statusCode!;
        code = 'E_INPUT';
        text = t.t(lang, 'public.error.input', { field: 'body' });
      } else {
        status = 500;
        code = 'E_INTERNAL';
        text = t.t(lang, 'public.error.internal');
      }
      if (status >= 500) request.log.error({ err: error }, 'public request failed');
      if (wantsJson(request)) {
        const message = status >= 500 && !isDepescheError(error) ? 'Internal error; see the server log.' : error.message;
        return reply.code(status).send({ error: { code, message, ...(field ? { field } : {}) } });
      }
      return sendPage(reply, status, messagePage(c, 'public.error.title', text));
    });

    // Links signed with an earlier secret (DEPESCHE_SECRET_PREVIOUS) keep working after a rotation.
    const secrets = [secret, ...previousSecrets(config)];
    const verify = (token: string, action: TokenAction) => verifyToken(token, action, secrets);
    const subscriberFor = async (token: string, action: TokenAction): Promise<SubscriberRecord> => {
      const claims = verify(token, action);
      const subscriber = await store.get(claims.sub);
      if (!subscriber) throw new DepescheError('E_NOT_FOUND', 'This subscriber no longer exists.');
      return subscriber;
    };
    const linkFor = (action: 'unsubscribe' | 'preferences', id: string) => urls[action](signToken({ act: action, sub: id }, secret));
    const subscribeUrl = (lang: Lang) => urls.subscribe(lang);

    // ── Subscribe (double opt-in, step one) ────────────────────────────────────────

    scope.get('/subscribe', async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      const c = ctx(request, isLang(query.lang) ? query.lang : undefined);
      const list = checkListName(query.list);
      return sendPage(reply, 200, subscribePage(c, { list: list.ok ? list.value : config.DEFAULT_LIST }));
    });

    scope.post('/subscribe', { config: { rateLimit: { max: config.SUBSCRIBE_RATE_LIMIT, timeWindow: '1 hour' } } }, async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const langInput = body.lang === undefined || body.lang === '' ? undefined : checkLang(body.lang);
      const c = ctx(request, langInput?.ok ? langInput.value : undefined);
      if (langInput && !langInput.ok) throw new FieldError('lang', langInput.reason);
      const lang = langInput?.value ?? c.lang;
      const email = normalizeEmail(body.email);
      if (!email.ok) throw new FieldError('email', email.reason);
      const name = checkName(body.name);
      if (!name.ok) throw new FieldError('name', name.reason);
      const listInput = body.list === undefined || body.list === '' ? config.DEFAULT_LIST : body.list;
      const list = checkListName(listInput);
      if (!list.ok) throw new FieldError('list', list.reason);
      // The form may join existing lists only (and the default one), never create them.
      if (list.value !== config.DEFAULT_LIST && !(await store.listExists(list.value))) {
        throw new FieldError('list', `list "${list.value}" does not exist`);
      }

      const ip = request.ip;
      const existing = await store.findByEmail(email.value);
      let id: string;
      let mail = true;
      if (!existing) {
        const created = await store.upsert(
          { email: email.value, name: name.value, lang, status: 'pending', source: 'form', consent: { signupAt: new Date().toISOString(), signupIp: ip } },
          list.value,
        );
        id = created.id;
      } else if (existing.status === 'active') {
        // Consent for this address is on record. Nothing else changes: a stranger must not be
        // able to rename or re-language someone else's subscription through the form.
        id = existing.id;
        await store.addToList(id, list.value);
        mail = false;
      } else {
        id = existing.id;
        const lastSent = existing.status === 'pending' && existing.consent.confirmationSentAt ? Date.parse(existing.consent.confirmationSentAt) : 0;
        if (Date.now() - lastSent < RESEND_AFTER_MS) {
          // Someone keeps submitting a pending address: one mail per window, or the form
          // becomes a way to flood a stranger's inbox from many IPs.
          mail = false;
        } else {
          await store.upsert({ email: email.value, lang, ...(name.value ? { name: name.value } : {}) }, list.value);
          await store.markPending(id, { signupIp: ip, source: 'form' });
        }
      }
      if (mail) {
        const token = signToken({ act: 'confirm', sub: id, exp: Math.floor(Date.now() / 1000) + config.CONFIRM_TTL_DAYS * 86_400 }, secret);
        try {
          await transport.sendMail(
            confirmMail(t, { from: config.MAIL_FROM, to: email.value, name: name.value, lang, site, confirmUrl: urls.confirm(token), ttlDays: config.CONFIRM_TTL_DAYS }),
          );
        } catch (cause) {
          throw new DepescheError('E_SMTP', `Sending the confirmation mail failed: ${(cause as Error).message}`, { cause });
        }
        await store.confirmationSent(id);
      }
      // The same answer whether or not the address was known, so the form reveals no one.
      if (wantsJson(request)) return reply.code(202).send({ ok: true, status: 'pending', message: t.t(lang, 'public.subscribe.sentBody', { email: email.value }) });
      return sendPage(reply, 200, messagePage(c, 'public.subscribe.sentTitle', t.t(lang, 'public.subscribe.sentBody', { email: email.value })));
    });

    // ── Confirm (double opt-in, step two) ─────────────────────────────────────────

    scope.get('/confirm/:token', async (request, reply) => {
      const { token } = request.params as { token: string };
      const subscriber = await subscriberFor(token, 'confirm');
      const c = ctx(request, subscriber.lang);
      if (subscriber.status === 'active') return sendPage(reply, 200, messagePage(c, 'public.confirm.title', t.t(c.lang, 'public.confirm.already', { email: subscriber.email })));
      const confirmed = await store.confirm(subscriber.id, request.ip);
      if (!confirmed) {
        return sendPage(
          reply,
          410,
          messagePage(c, 'public.confirm.goneTitle', t.t(c.lang, 'public.confirm.gone'), pagesLink(subscribeUrl(c.lang), t.t(c.lang, 'public.subscribeAgain'))),
        );
      }
      return sendPage(reply, 200, messagePage(c, 'public.confirm.title', t.t(c.lang, 'public.confirm.done', { email: subscriber.email })));
    });

    // ── Unsubscribe: GET shows a page, POST acts (RFC 8058 one-click) ─────────────

    scope.get('/unsubscribe/:token', async (request, reply) => {
      const { token } = request.params as { token: string };
      const subscriber = await subscriberFor(token, 'unsubscribe');
      const c = ctx(request, subscriber.lang);
      if (subscriber.status === 'unsubscribed') return sendPage(reply, 200, unsubscribedPage(c, subscriber.email, subscribeUrl(c.lang)));
      return sendPage(reply, 200, unsubscribePage(c, token, subscriber.email, linkFor('preferences', subscriber.id)));
    });

    scope.post('/unsubscribe/:token', async (request, reply) => {
      const { token } = request.params as { token: string };
      // Verify before reading the body, so a forged token never learns about the body check.
      const subscriber = await subscriberFor(token, 'unsubscribe');
      const c = ctx(request, subscriber.lang);
      if (!isOneClick(request.body)) throw new FieldError('List-Unsubscribe', 'the body must be List-Unsubscribe=One-Click');
      await store.unsubscribe(subscriber.id, wantsJson(request) ? 'api' : isMailClient(request) ? 'one-click' : 'page');
      return sendPage(reply, 200, unsubscribedPage(c, subscriber.email, subscribeUrl(c.lang)));
    });

    // ── Preferences: switch language or leave ────────────────────────────────────

    scope.get('/preferences/:token', async (request, reply) => {
      const { token } = request.params as { token: string };
      const subscriber = await subscriberFor(token, 'preferences');
      const c = ctx(request, subscriber.lang);
      return sendPage(reply, 200, preferencesPage(c, token, { email: subscriber.email, lang: subscriber.lang, active: subscriber.status === 'active' }, undefined, subscribeUrl(c.lang)));
    });

    scope.post('/preferences/:token', async (request, reply) => {
      const { token } = request.params as { token: string };
      const subscriber = await subscriberFor(token, 'preferences');
      ctx(request, subscriber.lang);
      const body = (request.body ?? {}) as Record<string, unknown>;
      const action = body.action ?? 'save';
      if (action === 'unsubscribe') {
        await store.unsubscribe(subscriber.id, 'preferences');
        const c = ctx(request, subscriber.lang);
        return sendPage(reply, 200, unsubscribedPage(c, subscriber.email, subscribeUrl(c.lang)));
      }
      if (action !== 'save') throw new FieldError('action', 'action must be "save" or "unsubscribe"');
      const lang = checkLang(body.lang);
      if (!lang.ok) throw new FieldError('lang', lang.reason);
      if (lang.value !== subscriber.lang) await store.setLang(subscriber.id, lang.value);
      // Answer in the language just chosen: the page is the first proof the switch worked.
      const c = ctx(request, lang.value);
      const notice = t.t(c.lang, 'public.preferences.saved', { lang: t.t(c.lang, `public.langName.${lang.value}`) });
      return sendPage(reply, 200, preferencesPage(c, token, { email: subscriber.email, lang: lang.value, active: subscriber.status === 'active' }, notice, subscribeUrl(c.lang)));
    });
  });

  return app;
}

const pagesLink = (href: string, label: string) => html`<p><a href="${href}">${label}</a></p>`;

/** RFC 8058: the POST body carries `List-Unsubscribe=One-Click`, form-encoded or multipart. */
function isOneClick(body: unknown): boolean {
  if (typeof body === 'string') return body.trim() === 'List-Unsubscribe=One-Click';
  if (!body || typeof body !== 'object') return false;
  const value = (body as Record<string, unknown>)['List-Unsubscribe'];
  return value === 'One-Click' || (Array.isArray(value) && value.includes('One-Click'));
}

/** Mail providers post without the Accept header a browser sends with a form. */
function isMailClient(request: FastifyRequest): boolean {
  return !String(request.headers.accept ?? '').includes('text/html');
}

function wantsJson(request: FastifyRequest): boolean {
  const type = String(request.headers['content-type'] ?? '');
  const accept = String(request.headers.accept ?? '');
  return type.startsWith('application/json') || (accept.includes('application/json') && !accept.includes('text/html'));
}

/** `?lang=` first, then Accept-Language, then English. */
function negotiate(request: FastifyRequest): Lang {
  const query = (request.query ?? {}) as Record<string, unknown>;
  if (isLang(query.lang)) return query.lang;
  const header = String(request.headers['accept-language'] ?? '');
  let best: { lang: Lang; q: number } | undefined;
  for (const part of header.split(',')) {
    const [tag, ...params] = part.trim().split(';');
    const lang = tag?.slice(0, 2).toLowerCase();
    const q = Number(params.find((p) => p.trim().startsWith('q='))?.trim().slice(2) ?? 1);
    if (isLang(lang) && (!best || q > best.q)) best = { lang, q };
  }
  return best?.lang ?? LANGS[1];
}

function displayName(from: string): string | undefined {
  const match = /^\s*"?([^"<]+?)"?\s*</.exec(from);
  return match?.[1]?.trim() || undefined;
}

function trustProxy(value: string): boolean | string | ((address: string, hop: number) => boolean) {
  if (value === '' || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) {
    const hops = Number(value);
    return (_address, hop) => hop < hops;
  }
  return value;
}

/** Just enough multipart/form-data for the one-click body: text fields by name. */
function parseMultipart(body: string, contentType: string): Record<string, string> {
  const boundary = /boundary=(?:"([^"]+)"|([^;]+))/i.exec(contentType);
  const marker = boundary?.[1] ?? boundary?.[2];
  const fields: Record<string, string> = {};
  if (!marker) return fields;
  for (const part of body.split(`--${marker}`)) {
    const split = part.indexOf('\r\n\r\n');
    if (split < 0) continue;
    const name = /name="([^"]*)"/i.exec(part.slice(0, split))?.[1];
    if (name) fields[name] = part.slice(split + 4).replace(/\r\n$/, '');
  }
  return fields;
}
