import type { FastifyInstance } from 'fastify';
import type { Lang } from '../../core/lang.ts';
import { Html, html } from '../shared/html.ts';
import { errorBody, frame, type NavLink } from '../shared/layout.ts';
import { loadAsset, loadSharedAssets, sendAsset } from '../shared/assets.ts';
import { adminLang, t } from './i18n.ts';

/** Where the admin app serves the shared stylesheet and icon (the preview has its own `assets/`). */
export const STATIC_PREFIX = '/static/';

/** The console's page script (local times, live fragments, actions that run once). */
export const CONSOLE_SCRIPT = 'console.js';

export type NavId = 'preview' | 'campaigns' | 'subscribers' | 'lists' | 'import' | 'inbox' | 'queues' | 'metrics';

const NAV: readonly [NavId, string][] = [
  ['preview', '/'],
  ['campaigns', '/campaigns'],
  ['subscribers', '/subscribers'],
  ['lists', '/lists'],
  ['import', '/import'],
  ['inbox', '/inbox'],
  ['queues', '/queues'],
  ['metrics', '/metrics'],
];

/** The links between the admin app's tools, labelled in `lang`. */
export function adminNav(lang: Lang = 'en', options: { without?: NavId[] } = {}): NavLink[] {
  return NAV.filter(([id]) => !options.without?.includes(id)).map(([id, href]) => ({ id, href, label: t(lang, `admin.nav.${id}`) }));
}

export interface PageOptions {
  /** An inline script run at the end of the body. */
  script?: string;
  /** The page's language; labels of the frame follow it. English when absent. */
  lang?: Lang;
  /** The nav item to mark. */
  active?: NavId;
}

function langSwitch(lang: Lang): Html {
  // A link per language; the choice is kept in a cookie (see adminLang).
  return html`<span class="lang-switch" aria-label="${t(lang, 'admin.common.language')}">${(['de', 'en'] as const).map(
    (l) => html`<a href="?lang=${l}" hreflang="${l}" lang="${l}"${l === lang ? html` aria-current="true"` : ''}>${l.toUpperCase()}</a>`,
  )}</span>`;
}

/** An admin page in the shared frame: the preview's look, the console nav, a `main.console`. */
export function page(title: string, body: Html, options: PageOptions = {}): string {
  const lang = options.lang ?? 'en';
  return frame({
    lang,
    title: `${title} · Depesche`,
    assets: STATIC_PREFIX,
    brand: { href: '/', sub: t(lang, 'admin.common.console') },
    nav: adminNav(lang),
    ...(options.active ? { active: options.active } : {}),
    barEnd: langSwitch(lang),
    head: html`<script src="${STATIC_PREFIX}${CONSOLE_SCRIPT}" defer></script>`,
    body: html`<main class="console">${body}</main>`,
    ...(options.script ? { foot: new Html(`<script>${options.script}</script>`) } : {}),
  });
}

/** Serves the shared stylesheet and icon under STATIC_PREFIX. */
export function staticAssets(app: FastifyInstance): void {
  const assets = loadSharedAssets();
  assets.set(CONSOLE_SCRIPT, loadAsset(new URL(`./assets/${CONSOLE_SCRIPT}`, import.meta.url), 'text/javascript; charset=utf-8'));
  app.get<{ Params: { name: string } }>(`${STATIC_PREFIX}:name`, async (request, reply) => {
    const asset = assets.get(request.params.name);
    if (!asset) return reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: 'No such file.' } });
    return sendAsset(request, reply, asset);
  });
}

/** Unknown admin paths: the shared error page for browsers, the API's error shape for scripts. */
export function notFoundPages(app: FastifyInstance): void {
  app.setNotFoundHandler((request, reply) => {
    const message = `There is no page ${request.url.split('?')[0]!.slice(0, 200)} here.`;
    if (!(request.headers.accept ?? '').includes('text/html')) return reply.code(404).send({ error: { code: 'E_NOT_FOUND', message } });
    const lang = adminLang(request);
    const title = t(lang, 'admin.common.notFound');
    return reply.code(404).type('text/html; charset=utf-8').send(page(title, errorBody(404, title, message, { href: '/', label: t(lang, 'admin.common.home') }, 'section'), { lang }));
  });
}
