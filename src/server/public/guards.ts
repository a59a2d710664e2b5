import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DepescheError } from '../../errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route works while Redis is down (unsubscribes, which go to the spool). */
    withoutRedis?: boolean;
    /** POSTs from any origin are fine here (RFC 8058 one-click comes from mail providers). */
    anyOrigin?: boolean;
  }
}

/**
 * Every page answers without cookies, redirects or scripts. `Referrer-Policy: same-origin`
 * keeps the token in a page's URL from leaking to other sites, and still lets our own forms
 * post with their true Origin (under `no-referrer` browsers send `Origin: null`, which the
 * origin check must refuse).
 */
export function securityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('Referrer-Policy', 'same-origin');
    if (!reply.hasHeader('cache-control')) reply.header('Cache-Control', 'no-store');
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' https: data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    return payload;
  });
}

/**
 * While Redis is unreachable, answer at once with 503 and Retry-After instead of letting
 * requests queue behind a connection that is not there. Routes marked `withoutRedis`
 * (unsubscribes) still run: they write to the spool.
 */
export function redisGuard(app: FastifyInstance, available: () => boolean, unavailable: (request: FastifyRequest, reply: FastifyReply) => FastifyReply): void {
  app.addHook('onRequest', async (request, reply) => {
    if (available() || request.routeOptions.config?.withoutRedis) return;
    return unavailable(request, reply);
  });
}

/**
 * Browsers may post our forms only from PUBLIC_URL's origin or from an origin listed in
 * FORM_ORIGINS (a form on the publisher's own site). A POST without an Origin header
 * (curl, old browsers, mail providers) is accepted; any other origin, `null` included, is
 * refused, so another site cannot submit sign-ups in its visitors' names.
 */
export function originGuard(app: FastifyInstance, allowed: ReadonlySet<string>): void {
  app.addHook('preHandler', async (request) => {
    if (request.method !== 'POST' || request.routeOptions.config?.anyOrigin) return;
    const origin = request.headers.origin;
    if (origin === undefined) return;
    if (allowed.has(String(origin).toLowerCase())) return;
    throw new DepescheError('E_FORBIDDEN', `Form posts from ${String(origin).slice(0, 100)} are not accepted.`, {
      hint: 'Post the form from PUBLIC_URL, or list your site in FORM_ORIGINS.',
    });
  });
}

/** The origins of PUBLIC_URL and FORM_ORIGINS, as browsers write them. */
export function allowedOrigins(publicUrl: string, formOrigins: string): Set<string> {
  const out = new Set<string>([new URL(publicUrl).origin.toLowerCase()]);
  for (const part of formOrigins.split(',')) {
    const trimmed = part.trim();
    if (trimmed) out.add(new URL(trimmed).origin.toLowerCase());
  }
  return out;
}
