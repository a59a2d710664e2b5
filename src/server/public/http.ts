import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { isLang, LANGS, type Lang } from '../../core/lang.ts';
import { redactUrl } from '../../core/public-urls.ts';
import { DepescheError } from '../../errors.ts';
import type { Translator } from '../../i18n/index.ts';
import type { Nav, PageContext } from './pages.ts';

/** What every route module of the public app gets: the translator, the site name and the page helpers. */
export interface RouteContext {
  t: Translator;
  site: string;
  /** Remembers the page language of a request, for its error page. */
  page(request: FastifyRequest, lang?: Lang): PageContext;
  /** The footer links for a language. */
  nav?: (lang: Lang) => Nav;
  send(reply: FastifyReply, status: number, body: string): FastifyReply;
}

/** A 400 that names the offending field, for both the page and the JSON answer. */
export class FieldError extends DepescheError {
  readonly field: string;
  constructor(field: string, reason: string) {
    super('E_INPUT', reason.startsWith(field) ? reason : `${field}: ${reason}`, { hint: `Check the "${field}" field.` });
    this.field = field;
  }
}

const pageLangs = new WeakMap<FastifyRequest, Lang>();

export function routeContext(t: Translator, site: string, nav?: (lang: Lang) => Nav): RouteContext {
  return {
    t,
    site,
    ...(nav ? { nav } : {}),
    page(request, lang) {
      const chosen = lang ?? negotiate(request);
      pageLangs.set(request, chosen);
      return { t, lang: chosen, site, ...(nav ? { nav: nav(chosen) } : {}) };
    },
    send: (reply, status, body) => reply.code(status).type('text/html; charset=utf-8').send(body),
  };
}

/** The language of a request's page: the one set by its route, else negotiated. */
export function pageLang(request: FastifyRequest): Lang {
  return pageLangs.get(request) ?? negotiate(request);
}

export function wantsJson(request: FastifyRequest): boolean {
  const type = String(request.headers['content-type'] ?? '');
  const accept = String(request.headers.accept ?? '');
  return type.startsWith('application/json') || (accept.includes('application/json') && !accept.includes('text/html'));
}

/** `?lang=` first, then Accept-Language, then English. */
export function negotiate(request: FastifyRequest): Lang {
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

/**
 * Reads a form or JSON body against a schema of plain fields. Anything but text where text
 * belongs (an object, a number, `{"toString":1}`) is a 400 that names the field.
 */
export function readBody<T extends z.ZodRawShape>(shape: T, body: unknown): z.infer<z.ZodObject<T>> {
  const source = body && typeof body === 'object' && !Array.isArray(body) ? body : {};
  const result = z.object(shape).safeParse(source);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = String(issue.path[0] ?? 'body');
  throw new FieldError(field, `${field} ${issue.code === 'too_big' ? 'is too long' : 'must be text'}`);
}

/** A form text field: a string, or absent. */
export const text = (max = 500) => z.string().max(max).optional();

/** A field a form may repeat (checkboxes): one string or a list of them. */
export const repeated = (max = 20) =>
  z
    .union([z.string().max(100), z.array(z.string().max(100)).max(max)])
    .optional()
    .transform((value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]));

/** The client IP as the proxy setting allows (TRUST_PROXY), for the consent record and rate limits. */
export function clientIp(request: FastifyRequest): string {
  return request.ip;
}

/**
 * The page a form was posted from, for the consent record: the Referer when the browser
 * sends it (our pages ask for it on same-origin requests), else the Origin, else the route.
 */
export function formUrl(request: FastifyRequest, fallback: string): string {
  const referer = request.headers.referer;
  // The preference centre's own URL holds the reader's token: the record keeps the route only.
  if (typeof referer === 'string' && /^https?:\/\//.test(referer)) return redactUrl(referer).slice(0, 500);
  const origin = request.headers.origin;
  if (typeof origin === 'string' && /^https?:\/\//.test(origin)) return origin.slice(0, 200);
  return fallback;
}
