import { Html, html } from './html.ts';
import { FAVICON, STYLESHEET } from './assets.ts';

export interface NavLink {
  /** Absolute path, or relative to the page's `<base>`. */
  href: string;
  label: string;
  /** Marks the link of the page shown. */
  id?: string;
}

export interface FrameOptions {
  lang: string;
  /** The whole `<title>`. */
  title: string;
  /** Where the shared assets are served, ending in `/`: `assets/` (preview) or `/static/` (console). */
  assets: string;
  /** A `<base href>` for apps that may be mounted under a prefix. */
  base?: string;
  brand: { href: string; sub: string };
  /** Shown after the brand on wide screens, e.g. the issue's title. */
  crumb?: string;
  nav: readonly NavLink[];
  /** `id` of the nav link to mark. */
  active?: string;
  /** More of the bar, after the nav: the live-reload dot, a language switch. */
  barEnd?: Html;
  head?: Html;
  bodyAttributes?: Html;
  body: Html;
  /** After the body: inline page scripts. */
  foot?: Html;
}

/**
 * The page frame of the preview and the ops console: one stylesheet, one top bar with
 * the brand and the links between the tools, so both look and move like one app.
 */
export function frame(o: FrameOptions): string {
  return html`<!doctype html>
<html lang="${o.lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title}</title>
${o.base ? html`<base href="${o.base}">` : ''}
<link rel="icon" href="${o.assets}${FAVICON}">
<link rel="stylesheet" href="${o.assets}${STYLESHEET}">
${o.head ?? ''}
</head>
<body${o.bodyAttributes ? html` ${o.bodyAttributes}` : ''}>
<header class="topbar">
  <a class="brand" href="${o.brand.href}"><span class="brand-mark">D</span> Depesche <span class="brand-sub">${o.brand.sub}</span></a>
  <span class="crumb">${o.crumb ?? ''}</span>
  ${o.nav.map((l) => html`<a class="nav${l.id && l.id === o.active ? ' active' : ''}" href="${l.href}"${l.id && l.id === o.active ? html` aria-current="page"` : ''}>${l.label}</a>`)}
  ${o.barEnd ?? ''}
</header>
${o.body}
${o.foot ?? ''}
</body>
</html>
`.value;
}

/** The body of an error page, for any app in this frame; `section` when the app wraps it in its own main. */
export function errorBody(status: number, title: string, detail: string, back: { href: string; label: string }, tag: 'main' | 'section' = 'main'): Html {
  return html`<${new Html(tag)} class="error-page"><h1>${status} · ${title}</h1><pre>${detail}</pre><p><a href="${back.href}">${back.label}</a></p></${new Html(tag)}>`;
}
