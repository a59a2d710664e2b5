import type { FastifyInstance } from 'fastify';
import { PUBLIC_ROUTES, type PublicUrls } from '../../core/public-urls.ts';
import type { Subscriptions } from '../../subscribers/subscriptions.ts';
import { clientIp, type RouteContext } from './http.ts';
import { confirmedPage, confirmGonePage, confirmPage } from './pages.ts';

/**
 * The confirmation link. GET (and the HEAD fastify derives from it) only shows what was
 * asked and one button; the POST of that button confirms. Mail scanners that open every
 * link therefore confirm nothing.
 */
export function confirmRoutes(app: FastifyInstance, ctx: RouteContext, deps: { subscriptions: Subscriptions; urls: PublicUrls }): void {
  app.get<{ Params: { token: string } }>(PUBLIC_ROUTES.confirm, async (request, reply) => {
    const { token } = request.params;
    const view = await deps.subscriptions.confirmation(token);
    const page = ctx.page(request, view.lang);
    if (view.kind !== 'open') return ctx.send(reply, 410, confirmGonePage(page, view.kind, deps.urls.home(page.lang)));
    return ctx.send(reply, 200, confirmPage(page, token, view));
  });

  app.post<{ Params: { token: string } }>(PUBLIC_ROUTES.confirm, async (request, reply) => {
    const outcome = await deps.subscriptions.confirm(request.params.token, clientIp(request));
    const page = ctx.page(request, outcome.lang);
    if (outcome.kind !== 'confirmed') return ctx.send(reply, 410, confirmGonePage(page, outcome.kind, deps.urls.home(page.lang)));
    return ctx.send(reply, 200, confirmedPage(page, outcome.email, outcome.lists));
  });
}
