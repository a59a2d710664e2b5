import type { Translator } from '../../i18n/index.ts';
import { LANGS, type Lang } from '../../core/lang.ts';
import { html, Html } from '../shared/html.ts';

export { html, Html };

/**
 * Public pages: small, localized, no JavaScript, no external assets, every value escaped
 * by the `html` tag. They work in any browser and in a mail client's built-in viewer.
 */
const css = `
:root { color-scheme: light dark; --fg:#1d2330; --muted:#667085; --line:#d9dee7; --bg:#fff; --accent:#b42318; --btn:#1d2330; --btnfg:#fff; }
@media (prefers-color-scheme: dark) { :root { --fg:#e6e8ec; --muted:#98a2b3; --line:#344054; --bg:#111418; --btn:#e6e8ec; --btnfg:#111418; } }
* { box-sizing: border-box; }
body { margin:0; font:16px/1.5 system-ui, sans-serif; color:var(--fg); background:var(--bg); }
main { max-width:34rem; margin:0 auto; padding:2.5rem 1.25rem; }
.site { font-weight:700; letter-spacing:.04em; text-transform:uppercase; font-size:.8rem; color:var(--muted); }
h1 { font-size:1.5rem; line-height:1.25; margin:.5rem 0 1rem; }
label { display:block; margin:1rem 0 .25rem; font-weight:600; }
input[type=email], input[type=text], select { width:100%; padding:.6rem; font:inherit; border:1px solid var(--line); border-radius:6px; background:var(--bg); color:var(--fg); }
fieldset { border:0; padding:0; margin:1rem 0; } fieldset label { display:inline; font-weight:400; margin-right:1.25rem; }
button { margin-top:1.25rem; padding:.7rem 1.2rem; font:inherit; font-weight:600; border:0; border-radius:6px; background:var(--btn); color:var(--btnfg); cursor:pointer; }
button.secondary { background:transparent; color:var(--accent); border:1px solid var(--accent); }
.muted { color:var(--muted); font-size:.9rem; } .error { color:var(--accent); }
hr { border:0; border-top:1px solid var(--line); margin:2rem 0; }
`;

export function layout(lang: Lang, site: string, title: string, body: Html): string {
  return html`<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${title} · ${site}</title><style>${new Html(css)}</style></head>
<body><main><div class="site">${site}</div><h1>${title}</h1>
${body}</main></body></html>`.value;
}

export interface PageContext {
  t: Translator;
  lang: Lang;
  site: string;
}

export function subscribePage(ctx: PageContext, values: { email?: string; name?: string; list: string; error?: string }): string {
  const { t, lang } = ctx;
  return layout(
    lang,
    ctx.site,
    t.t(lang, 'public.subscribe.title'),
    html`${values.error ? html`<p class="error" role="alert">${values.error}</p>` : ''}
<p>${t.t(lang, 'public.subscribe.intro')}</p>
<form method="post" action="/subscribe">
<input type="hidden" name="list" value="${values.list}">
<label for="email">${t.t(lang, 'public.subscribe.email')}</label>
<input id="email" type="email" name="email" required autocomplete="email" value="${values.email ?? ''}">
<label for="name">${t.t(lang, 'public.subscribe.name')}</label>
<input id="name" type="text" name="name" maxlength="200" autocomplete="name" value="${values.name ?? ''}">
${langChoice(ctx, lang)}
<button type="submit">${t.t(lang, 'public.subscribe.submit')}</button>
</form>
<p class="muted">${t.t(lang, 'public.subscribe.privacy')}</p>`,
  );
}

function langChoice(ctx: PageContext, selected: Lang): Html {
  return html`<fieldset><legend><strong>${ctx.t.t(ctx.lang, 'public.subscribe.lang')}</strong></legend>
${LANGS.map((l) => html`<label><input type="radio" name="lang" value="${l}"${selected === l ? new Html(' checked') : ''}> ${ctx.t.t(ctx.lang, `public.langName.${l}`)}</label>`)}
</fieldset>`;
}

export function messagePage(ctx: PageContext, titleKey: string, body: string, extra?: Html): string {
  return layout(ctx.lang, ctx.site, ctx.t.t(ctx.lang, titleKey), html`<p>${body}</p>${extra ?? ''}`);
}

export function unsubscribePage(ctx: PageContext, token: string, email: string, preferencesUrl: string): string {
  const { t, lang } = ctx;
  return layout(
    lang,
    ctx.site,
    t.t(lang, 'public.unsubscribe.title'),
    // The button posts exactly what a mail client's one-click POST does, so both paths are one.
    html`<p>${t.t(lang, 'public.unsubscribe.question', { email })}</p>
<form method="post" action="/unsubscribe/${token}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">
<button type="submit">${t.t(lang, 'public.unsubscribe.button')}</button>
</form>
<hr><p class="muted">${t.t(lang, 'public.unsubscribe.preferences')} <a href="${preferencesUrl}">${t.t(lang, 'public.preferences.title')}</a></p>`,
  );
}

export function unsubscribedPage(ctx: PageContext, email: string, subscribeUrl: string): string {
  return messagePage(
    ctx,
    'public.unsubscribe.doneTitle',
    ctx.t.t(ctx.lang, 'public.unsubscribe.done', { email }),
    html`<p><a href="${subscribeUrl}">${ctx.t.t(ctx.lang, 'public.subscribeAgain')}</a></p>`,
  );
}

export function preferencesPage(
  ctx: PageContext,
  token: string,
  subscriber: { email: string; lang: Lang; active: boolean },
  notice: string | undefined,
  subscribeUrl: string,
): string {
  const { t, lang } = ctx;
  return layout(
    lang,
    ctx.site,
    t.t(lang, 'public.preferences.title'),
    html`${notice ? html`<p role="status"><strong>${notice}</strong></p>` : ''}
<p>${t.t(lang, 'public.preferences.intro', { email: subscriber.email })}</p>
<form method="post" action="/preferences/${token}">
<input type="hidden" name="action" value="save">
${langChoice(ctx, subscriber.lang)}
<button type="submit">${t.t(lang, 'public.preferences.save')}</button>
</form>
<hr>
${
  subscriber.active
    ? html`<p>${t.t(lang, 'public.preferences.leave')}</p>
<form method="post" action="/preferences/${token}">
<input type="hidden" name="action" value="unsubscribe">
<button type="submit" class="secondary">${t.t(lang, 'public.preferences.leaveButton')}</button>
</form>`
    : html`<p>${t.t(lang, 'public.preferences.unsubscribed')} <a href="${subscribeUrl}">${t.t(lang, 'public.subscribeAgain')}</a></p>`
}`,
  );
}
