import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { httpStatusOf } from '../../core/http-status.ts';
import { isDepescheError } from '../../errors.ts';
import { isRedisDown } from '../../subscribers/subscriptions.ts';
import { FieldError, pageLang, wantsJson, type RouteContext } from './http.ts';
import { messagePage } from './pages.ts';

/** Seconds a client should wait before trying again while Redis is down. */
export const RETRY_AFTER_S = 30;

/**
 * One answer shape for every failure of the public app: a localized page for browsers,
 * `{ error: { code, message, field? } }` for JSON clients. Bad input is a 400 naming the
 * field, never a 500; Redis out of reach is a 503 with Retry-After; internals never leak.
 */
export function publicErrors(app: FastifyInstance, ctx: RouteContext): { unavailable: (request: FastifyRequest, reply: FastifyReply) => FastifyReply } {
  const { t } = ctx;
  const unavailable = (request: FastifyRequest, reply: FastifyReply) => {
    reply.header('Retry-After', String(RETRY_AFTER_S));
    const lang = pageLang(request);
    if (wantsJson(request) || request.url.startsWith('/healthz')) {
      return reply.code(503).send({ ok: false, error: { code: 'E_REDIS', message: 'Temporarily unavailable; try again shortly.' } });
    }
    return ctx.send(reply, 503, messagePage({ t, lang, site: ctx.site, ...(ctx.nav ? { nav: ctx.nav(lang) } : {}) }, 'public.error.title', t.t(lang, 'public.error.unavailable')));
  };

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (isRedisDown(error)) {
      request.log.warn({ err: error.message }, 'Redis unreachable: answered 503');
      return unavailable(request, reply);
    }
    const lang = pageLang(request);
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
        : error.code === 'E_FORBIDDEN' ? t.t(lang, 'public.error.origin')
        : t.t(lang, 'public.error.internal');
    } else if (error.statusCode === 429) {
      status = 429;
      code = 'E_RATE_LIMIT';
      text = t.t(lang, 'public.error.rateLimit');
    } else if (error.statusCode && error.statusCode < 500) {
      status = error.statusCode;
      code = 'E_INPUT';
      text = t.t(lang, 'public.error.input', { field: t.t(lang, 'public.error.field.body') });
    } else {
      status = 500;
      code = 'E_INTERNAL';
      text = t.t(lang, 'public.error.internal');
    }
    if (status >= 500) request.log.error({ err: error }, 'public request failed');
    if (wantsJson(request)) {
      const message = status >= 500 ? 'Internal error; see the server log.' : error.message;
      return reply.code(status).send({ error: { code, message, ...(field ? { field } : {}) } });
    }
    return ctx.send(reply, status, messagePage({ t, lang, site: ctx.site, ...(ctx.nav ? { nav: ctx.nav(lang) } : {}) }, 'public.error.title', text));
  });

  app.setNotFoundHandler((request, reply) => {
    const lang = pageLang(request);
    if (wantsJson(request)) return reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: 'No such page.' } });
    return ctx.send(reply, 404, messagePage({ t, lang, site: ctx.site, ...(ctx.nav ? { nav: ctx.nav(lang) } : {}) }, 'public.error.title', t.t(lang, 'public.error.noPage')));
  });

  return { unavailable };
}
