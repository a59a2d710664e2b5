import type { FastifyInstance, FastifyRequest } from 'fastify';
import { PUBLIC_ROUTES, type PublicUrls } from '../../core/public-urls.ts';
import type { Subscriptions } from '../../subscribers/subscriptions.ts';
import { clientIp, FieldError, wantsJson, type RouteContext } from './http.ts';
import { unsubscribedPage, unsubscribePage } from './pages.ts';

/**
 * Unsubscribing from a mail. GET shows a page with a button; the POST acts, exactly as a
 * mail provider's RFC 8058 one-click POST does (`List-Unsubscribe=One-Click`), and leaves
 * the list the mail came from, or every list with `scope=all`. Both work while Redis is
 * down: the unsubscribe then waits in the spool, and no origin check applies, since the
 * one-click POST comes from the providers' servers.
 */
export function unsubscribeRoutes(app: FastifyInstance, ctx: RouteContext, deps: { subscriptions: Subscriptions; urls: PublicUrls }): void {
  app.get<{ Params: { token: string } }>(PUBLIC_ROUTES.unsubscribe, { config: { withoutRedis: true } }, async (request, reply) => {
    const { token } = request.params;
    const view = await deps.subscriptions.unsubscribeView(token);
    const page = ctx.page(request, view.subscriber?.lang);
    return ctx.send(reply, 200, unsubscribePage(page, token, view, view.preferencesUrl));
  });

  app.post<{ Params: { token: string } }>(PUBLIC_ROUTES.unsubscribe, { config: { withoutRedis: true, anyOrigin: true } }, async (request, reply) => {
    const { token } = request.params;
    const body = request.body;
    if (!isOneClick(body)) {
      // Check the token first, so a forged one never learns about the body check.
      deps.subscriptions.verify(token, 'unsubscribe');
      throw new FieldError('List-Unsubscribe', 'the body must be List-Unsubscribe=One-Click');
    }
    const all = typeof body === 'object' && body !== null && (body as Record<string, unknown>).scope === 'all';
    const outcome = await deps.subscriptions.unsubscribe(token, { scope: all ? 'all' : 'list', via: via(request), ip: clientIp(request) });
    const page = ctx.page(request, outcome.kind === 'done' ? outcome.lang : undefined);
    return ctx.send(reply, 200, unsubscribedPage(page, token, outcome, deps.urls.home(page.lang)));
  });
}

/** Mail providers post without the Accept header a browser sends with a form. */
function via(request: FastifyRequest): string {
  if (wantsJson(request)) return 'api';
  return String(request.headers.accept ?? '').includes('text/html') ? 'page' : 'one-click';
}

/** RFC 8058: the POST body carries `List-Unsubscribe=One-Click`, form-encoded or multipart. */
function isOneClick(body: unknown): boolean {
  if (typeof body === 'string') return body.trim() === 'List-Unsubscribe=One-Click';
  if (!body || typeof body !== 'object') return false;
  const value = (body as Record<string, unknown>)['List-Unsubscribe'];
  return value === 'One-Click' || (Array.isArray(value) && value.includes('One-Click'));
}
