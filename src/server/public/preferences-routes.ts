import type { FastifyInstance } from 'fastify';
import { PUBLIC_ROUTES, type PublicUrls } from '../../core/public-urls.ts';
import type { Subscriptions } from '../../subscribers/subscriptions.ts';
import { checkLang } from '../../subscribers/validate.ts';
import { clientIp, FieldError, formUrl, readBody, repeated, text, type RouteContext } from './http.ts';
import { preferencesPage, unsubscribedPage } from './pages.ts';

const preferencesBody = { action: text(20), lang: text(20), list: repeated() };

/**
 * The preference centre: the reader's address, language and public lists. Language and
 * leaving a list act at once; joining a list mails a confirmation first; unsubscribing
 * from everything is the second form, one click further down. Unsubscribing works while
 * Redis is down (spooled); saving answers 503 then.
 */
export function preferencesRoutes(app: FastifyInstance, ctx: RouteContext, deps: { subscriptions: Subscriptions; urls: PublicUrls }): void {
  const { t } = ctx;

  app.get<{ Params: { token: string } }>(PUBLIC_ROUTES.preferences, async (request, reply) => {
    const { token } = request.params;
    const view = await deps.subscriptions.preferences(token);
    return ctx.send(reply, 200, preferencesPage(ctx.page(request, view.lang), token, view));
  });

  app.post<{ Params: { token: string } }>(PUBLIC_ROUTES.preferences, { config: { withoutRedis: true } }, async (request, reply) => {
    const { token } = request.params;
    const body = readBody(preferencesBody, request.body);
    const action = body.action ?? 'save';
    if (action === 'unsubscribe') {
      const outcome = await deps.subscriptions.unsubscribe(token, { scope: 'all', via: 'preferences', ip: clientIp(request), action: 'preferences' });
      const page = ctx.page(request, outcome.kind === 'done' ? outcome.lang : undefined);
      return ctx.send(reply, 200, unsubscribedPage(page, token, outcome, deps.urls.home(page.lang)));
    }
    if (action !== 'save') throw new FieldError('action', 'action must be "save" or "unsubscribe"');
    const lang = body.lang === undefined ? undefined : checkLang(body.lang);
    if (lang && !lang.ok) throw new FieldError('lang', lang.reason);
    const outcome = await deps.subscriptions.updatePreferences(token, {
      ...(lang?.ok ? { lang: lang.value } : {}),
      lists: body.list,
      ip: clientIp(request),
      formUrl: formUrl(request, deps.urls.preferences('[token]')),
    });
    // Answer in the language just chosen: the page is the first proof the switch worked.
    const page = ctx.page(request, outcome.view.lang);
    const notices = [
      outcome.langChanged ? t.t(page.lang, 'public.preferences.saved', { lang: t.t(page.lang, `public.langName.${outcome.view.lang}`) }) : t.t(page.lang, 'public.preferences.savedLists'),
      outcome.left.length ? t.t(page.lang, 'public.preferences.left', { lists: outcome.left.join(', ') }) : '',
      outcome.requested.length ? t.t(page.lang, 'public.preferences.requested', { lists: outcome.requested.join(', ') }) : '',
    ].filter(Boolean);
    return ctx.send(reply, 200, preferencesPage(page, token, outcome.view, notices.join(' ')));
  });
}
