import Fastify, { type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import rateLimit from '@fastify/rate-limit';
import type { Redis } from 'ioredis';
import type { Keyspace } from '../../config/redis.ts';
import type { Config } from '../../config/schema.ts';
import type { Lang } from '../../core/lang.ts';
import { PUBLIC_ROUTES, publicPaths, publicUrls } from '../../core/public-urls.ts';
import type { Translator } from '../../i18n/index.ts';
import type { Logger } from '../../log.ts';
import type { Wording } from '../../subscribers/consent.ts';
import type { Subscriptions } from '../../subscribers/subscriptions.ts';
import { archiveRoutes, type ArchiveSource } from './archive.ts';
import { confirmRoutes } from './confirm-routes.ts';
import { publicErrors } from './errors.ts';
import { allowedOrigins, originGuard, redisGuard, securityHeaders } from './guards.ts';
import { routeContext } from './http.ts';
import { preferencesRoutes } from './preferences-routes.ts';
import { signupRoutes } from './signup-routes.ts';
import { unsubscribeRoutes } from './unsubscribe-routes.ts';

export interface PublicAppDeps {
  config: Config;
  /** Every subscription change the public side may make. */
  subscriptions: Subscriptions;
  /** Frozen editions of finished campaigns and published issues. */
  archive: ArchiveSource;
  translator: Translator;
  /** The consent text shown with the form, per language. */
  wording: (lang: Lang) => Wording;
  /** The connection rate limits count in; it should fail fast rather than queue while Redis is away. */
  redis: Redis;
  /** Where the rate limit keeps its counters. */
  keys: Keyspace;
  /** Whether Redis answers right now; while it does not, every route but the unsubscribes answers 503. */
  available: () => boolean;
  /** Pinged by /healthz. */
  ping: () => Promise<unknown>;
  /** The newsletter's name on pages and in mails (see {@link siteName}). */
  site: string;
  logger?: Logger;
}

/**
 * The public app: the sign-up page, confirm, unsubscribe (RFC 8058 one-click), the
 * preference centre and the archive. It only speaks HTTP: each route reads its input, calls
 * one function of the subscriber domain (subscribers/subscriptions.ts) or the archive
 * source, and maps the result to a page. Returned unstarted.
 */
export async function buildPublicApp(deps: PublicAppDeps): Promise<FastifyInstance> {
  const { config, translator: t, subscriptions } = deps;
  const urls = publicUrls(config.PUBLIC_URL);
  const { site } = deps;

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

  const paths = publicPaths();
  const ctx = routeContext(t, site, (lang) => ({
    home: paths.home(lang),
    archive: paths.archive(lang),
    impressum: config.IMPRESSUM_URL || paths.impressum(lang),
    privacy: config.PRIVACY_URL || paths.privacy(lang),
  }));
  const { unavailable } = publicErrors(app, ctx);
  redisGuard(app, deps.available, unavailable);
  originGuard(app, allowedOrigins(config.PUBLIC_URL, config.FORM_ORIGINS));
  await app.register(rateLimit, {
    global: false,
    redis: deps.redis,
    nameSpace: `${deps.keys.key('ratelimit')}:`,
    errorResponseBuilder: (_request, context) => Object.assign(new Error(`Rate limit exceeded, retry in ${context.after}`), { statusCode: 429 }),
  });

  // Browsers ask for it on every page; a 404 each time clutters their console and our logs.
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).header('cache-control', 'public, max-age=86400').send());

  app.get(PUBLIC_ROUTES.healthz, async () => {
    await deps.ping();
    return { ok: true };
  });

  // The reader's pages in their own scope: their strict headers must not reach the archive,
  // which shows mails with their images and is cached.
  await app.register(async (scope) => {
    securityHeaders(scope);
    signupRoutes(scope, ctx, { config, subscriptions, urls, wording: deps.wording });
    confirmRoutes(scope, ctx, { subscriptions, urls });
    unsubscribeRoutes(scope, ctx, { subscriptions, urls });
    preferencesRoutes(scope, ctx, { subscriptions, urls });
  });
  await app.register(async (scope) => {
    archiveRoutes(scope, { source: deps.archive, publicUrl: config.PUBLIC_URL, translator: t, site });
  });
  return app;
}

/** The newsletter's name: MAIL_FROM's display name, else the locale's `public.siteName`. */
export function siteName(mailFrom: string, t: Translator): string {
  const match = /^\s*"?([^"<]+?)"?\s*</.exec(mailFrom);
  return match?.[1]?.trim() || t.t('en', 'public.siteName');
}

/** TRUST_PROXY as fastify takes it: a hop count, or the proxies' addresses (`true` is refused by the config). */
export function trustProxy(value: string): boolean | string[] | ((address: string, hop: number) => boolean) {
  if (value === '' || value === 'false') return false;
  if (/^\d+$/.test(value)) {
    // Trust exactly this many hops: the client is the address the outermost proxy saw.
    const hops = Number(value);
    return (_address, hop) => hop < hops;
  }
  return value.split(',').map((part) => part.trim()).filter(Boolean);
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
