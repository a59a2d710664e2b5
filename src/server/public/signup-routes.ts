import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../../config/schema.ts';
import type { Lang } from '../../core/lang.ts';
import { PUBLIC_ROUTES, type PublicUrls } from '../../core/public-urls.ts';
import type { Wording } from '../../subscribers/consent.ts';
import type { Subscriptions } from '../../subscribers/subscriptions.ts';
import { checkLang, checkName, normalizeEmail } from '../../subscribers/validate.ts';
import { clientIp, FieldError, formUrl, readBody, repeated, text, wantsJson, type RouteContext } from './http.ts';
import { legalPage, messagePage, signupPage } from './pages.ts';

export interface SignupDeps {
  config: Pick<Config, 'SUBSCRIBE_RATE_LIMIT' | 'DEFAULT_LIST' | 'IMPRESSUM_URL' | 'PRIVACY_URL'>;
  subscriptions: Subscriptions;
  urls: PublicUrls;
  wording: (lang: Lang) => Wording;
}

const subscribeBody = {
  email: text(400),
  name: text(2000),
  lang: text(20),
  list: repeated(),
  /** The honeypot: hidden from people. */
  website: text(500),
  /** The consent text's version the form showed. */
  wording: text(100),
};

/**
 * The sign-up page (at `/` and at `/subscribe`, where forwarded issues link) and the form's
 * POST, plus the Impressum and privacy pages it links to.
 */
export function signupRoutes(app: FastifyInstance, ctx: RouteContext, deps: SignupDeps): void {
  const { t } = ctx;
  const { subscriptions, config } = deps;

  const showForm = async (request: FastifyRequest, reply: FastifyReply) => {
    const query = (request.query ?? {}) as Record<string, unknown>;
    const page = ctx.page(request);
    const lists = await subscriptions.publicLists();
    const asked = typeof query.list === 'string' && lists.includes(query.list) ? [query.list] : lists.includes(config.DEFAULT_LIST) ? [config.DEFAULT_LIST] : lists.slice(0, 1);
    const wording = deps.wording(page.lang);
    return ctx.send(reply, 200, signupPage(page, { lists, selected: asked, wording, action: PUBLIC_ROUTES.subscribe }));
  };
  app.get(PUBLIC_ROUTES.home, showForm);
  app.get(PUBLIC_ROUTES.subscribe, showForm);

  app.post(PUBLIC_ROUTES.subscribe, { config: { rateLimit: { max: config.SUBSCRIBE_RATE_LIMIT, timeWindow: '1 hour' } } }, async (request, reply) => {
    const body = readBody(subscribeBody, request.body);
    const langInput = body.lang === undefined || body.lang === '' ? undefined : checkLang(body.lang);
    const page = ctx.page(request, langInput?.ok ? langInput.value : undefined);
    if (langInput && !langInput.ok) throw new FieldError('lang', langInput.reason);
    const email = normalizeEmail(body.email);
    if (!email.ok) throw new FieldError('email', email.reason);
    const name = checkName(body.name);
    if (!name.ok) throw new FieldError('name', name.reason);
    const outcome = await subscriptions.request({
      email: email.value,
      name: name.value,
      lang: page.lang,
      lists: body.list.filter((list) => list !== ''),
      ip: clientIp(request),
      formUrl: formUrl(request, deps.urls.subscribe()),
      bot: Boolean(body.website),
    });
    // A private list and a missing one get the same answer.
    if (outcome.kind === 'unknown-list') throw new FieldError('list', `list "${outcome.list}" is not a public list`);
    // The same answer for every address, new or known, active or suppressed.
    const message = t.t(page.lang, 'public.subscribe.sentBody', { email: email.value });
    if (wantsJson(request)) return reply.code(202).send({ ok: true, message });
    return ctx.send(reply, 200, messagePage(page, 'public.subscribe.sentTitle', message));
  });

  app.get(PUBLIC_ROUTES.impressum, async (request, reply) => {
    if (config.IMPRESSUM_URL) return reply.redirect(config.IMPRESSUM_URL, 302);
    const page = ctx.page(request);
    return ctx.send(reply, 200, legalPage(page, 'public.impressum.title', t.t(page.lang, 'footer.impressum').replace(/ {2}\n/g, '\n')));
  });
  app.get(PUBLIC_ROUTES.privacy, async (request, reply) => {
    if (config.PRIVACY_URL) return reply.redirect(config.PRIVACY_URL, 302);
    const page = ctx.page(request);
    return ctx.send(reply, 200, legalPage(page, 'public.privacy.title', t.t(page.lang, 'public.privacy.text')));
  });
}
