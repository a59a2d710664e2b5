import type { Translator } from '../../i18n/index.ts';
import { LANGS, type Lang } from '../../core/lang.ts';
import { publicPaths } from '../../core/public-urls.ts';
import type { ConfirmView, PreferencesView, UnsubscribeOutcome, UnsubscribeView } from '../../subscribers/subscriptions.ts';
import { html, Html } from '../shared/html.ts';

export { html, Html };

const paths = publicPaths();

/**
 * Public pages: small, localized, no JavaScript, no external assets, every value escaped
 * by the `html` tag. They work in any browser and in a mail client's built-in viewer.
 * Pages that change something show one button that POSTs: a link scanner's GET or HEAD
 * (corporate mail filters open every link) never confirms or unsubscribes anyone.
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
fieldset.lists label { display:block; margin:.35rem 0; }
button { margin-top:1.25rem; padding:.7rem 1.2rem; font:inherit; font-weight:600; border:0; border-radius:6px; background:var(--btn); color:var(--btnfg); cursor:pointer; }
button.secondary { background:transparent; color:var(--accent); border:1px solid var(--accent); }
.muted { color:var(--muted); font-size:.9rem; } .error { color:var(--accent); }
.consent { font-size:.9rem; border-left:3px solid var(--line); padding-left:.75rem; margin:1.25rem 0 0; }
.trap { position:absolute; left:-10000px; width:1px; height:1px; overflow:hidden; }
hr { border:0; border-top:1px solid var(--line); margin:2rem 0; }
footer { margin-top:3rem; font-size:.85rem; color:var(--muted); } footer a { color:inherit; margin-right:1rem; }
pre.legal { white-space:pre-wrap; font:inherit; }
`;

/** Where the footer of every page leads. */
export interface Nav {
  home: string;
  archive: string;
  impressum: string;
  privacy: string;
}

export interface PageContext {
  t: Translator;
  lang: Lang;
  site: string;
  nav?: Nav;
}

export function layout(ctx: PageContext, title: string, body: Html): string {
  const { t, lang, nav } = ctx;
  const footer = nav
    ? html`<footer><a href="${nav.home}">${t.t(lang, 'public.nav.home')}</a><a href="${nav.archive}">${t.t(lang, 'public.nav.archive')}</a><a href="${nav.impressum}">${t.t(lang, 'public.nav.impressum')}</a><a href="${nav.privacy}">${t.t(lang, 'public.nav.privacy')}</a></footer>`
    : '';
  return html`<!doctype html>
<html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>${title} · ${ctx.site}</title><style>${new Html(css)}</style></head>
<body><main><div class="site">${ctx.site}</div><h1>${title}</h1>
${body}${footer}</main></body></html>`.value;
}

export function messagePage(ctx: PageContext, titleKey: string, body: string, extra?: Html): string {
  return layout(ctx, ctx.t.t(ctx.lang, titleKey), html`<p>${body}</p>${extra ?? ''}`);
}

function langChoice(ctx: PageContext, legendKey: string, selected: Lang): Html {
  return html`<fieldset><legend><strong>${ctx.t.t(ctx.lang, legendKey)}</strong></legend>
${LANGS.map((l) => html`<label><input type="radio" name="lang" value="${l}"${selected === l ? new Html(' checked') : ''}> ${ctx.t.t(ctx.lang, `public.langName.${l}`)}</label>`)}
</fieldset>`;
}

const listLabel = (name: string) => name;

export interface SignupValues {
  /** Public lists; with more than one the form offers a checkbox each. */
  lists: string[];
  selected: string[];
  /** The consent text shown with the button; its version goes with the post. */
  wording: { version: string; text: string };
  action: string;
}

/**
 * The sign-up form, at `/` and `/subscribe`. The consent text sits right above the button,
 * so what the reader agreed to is exactly what the consent record keeps. The `website`
 * field is a honeypot: hidden from people, filled in by naive bots.
 */
export function signupPage(ctx: PageContext, values: SignupValues): string {
  const { t, lang } = ctx;
  const lists =
    values.lists.length > 1
      ? html`<fieldset class="lists"><legend><strong>${t.t(lang, 'public.subscribe.lists')}</strong></legend>
${values.lists.map((name) => html`<label><input type="checkbox" name="list" value="${name}"${values.selected.includes(name) ? new Html(' checked') : ''}> ${listLabel(name)}</label>`)}
</fieldset>`
      : values.selected.map((name) => html`<input type="hidden" name="list" value="${name}">`);
  return layout(
    ctx,
    t.t(lang, 'public.subscribe.title'),
    html`<p>${t.t(lang, 'public.subscribe.intro')}</p>
<form method="post" action="${values.action}">
<label for="email">${t.t(lang, 'public.subscribe.email')}</label>
<input id="email" type="email" name="email" required autocomplete="email" maxlength="254">
<label for="name">${t.t(lang, 'public.subscribe.name')}</label>
<input id="name" type="text" name="name" maxlength="200" autocomplete="name">
<div class="trap" aria-hidden="true"><label for="website">Website</label><input id="website" type="text" name="website" tabindex="-1" autocomplete="off"></div>
${langChoice(ctx, 'public.subscribe.lang', lang)}
${lists}
<input type="hidden" name="wording" value="${values.wording.version}">
<p class="consent">${values.wording.text}</p>
<button type="submit">${t.t(lang, 'public.subscribe.submit')}</button>
</form>
<p class="muted">${t.t(lang, 'public.subscribe.privacy')}</p>
${ctx.nav ? html`<p class="muted"><a href="${ctx.nav.archive}">${t.t(lang, 'public.subscribe.archiveLink')}</a></p>` : ''}`,
  );
}

function asked(ctx: PageContext, view: { lists: string[]; requestedLang: Lang }): Html {
  const { t, lang } = ctx;
  return html`<ul>${view.lists.map((name) => html`<li>${t.t(lang, 'public.confirm.join', { list: listLabel(name) })}</li>`)}<li>${t.t(lang, 'public.confirm.lang', { lang: t.t(lang, `public.langName.${view.requestedLang}`) })}</li></ul>`;
}

/** GET /confirm/<token>: what was asked, and one button. Opening it changes nothing. */
export function confirmPage(ctx: PageContext, token: string, view: Extract<ConfirmView, { kind: 'open' }>): string {
  const { t, lang } = ctx;
  return layout(
    ctx,
    t.t(lang, 'public.confirm.askTitle'),
    html`<p>${t.t(lang, 'public.confirm.ask', { email: view.email })}</p>
${asked(ctx, view)}
<form method="post" action="${paths.confirm(token)}">
<button type="submit">${t.t(lang, 'public.confirm.button')}</button>
</form>
<p class="muted">${t.t(lang, 'public.confirm.ignore')}</p>`,
  );
}

export function confirmedPage(ctx: PageContext, email: string, lists: string[]): string {
  const { t, lang } = ctx;
  return layout(
    ctx,
    t.t(lang, 'public.confirm.title'),
    html`<p>${t.t(lang, 'public.confirm.done', { email })}</p>${lists.length ? html`<p class="muted">${t.t(lang, 'public.confirm.onLists', { lists: lists.join(', ') })}</p>` : ''}`,
  );
}

export function confirmGonePage(ctx: PageContext, kind: 'gone' | 'expired', subscribeUrl: string): string {
  const { t, lang } = ctx;
  return messagePage(ctx, 'public.confirm.goneTitle', t.t(lang, kind === 'expired' ? 'public.confirm.expired' : 'public.confirm.gone'), html`<p><a href="${subscribeUrl}">${t.t(lang, 'public.subscribeAgain')}</a></p>`);
}

const oneClick = (token: string, label: string, all: boolean, secondary = false) =>
  html`<form method="post" action="${paths.unsubscribe(token)}">
<input type="hidden" name="List-Unsubscribe" value="One-Click">${all ? html`<input type="hidden" name="scope" value="all">` : ''}
<button type="submit"${secondary ? new Html(' class="secondary"') : ''}>${label}</button>
</form>`;

/**
 * GET /unsubscribe/<token>: leave the list the mail came from, or everything. The first
 * button posts exactly what a mail client's one-click POST does, so both paths are one.
 */
export function unsubscribePage(ctx: PageContext, token: string, view: UnsubscribeView, preferencesUrl: string | undefined): string {
  const { t, lang } = ctx;
  const email = view.subscriber?.email;
  const question = view.list
    ? t.t(lang, 'public.unsubscribe.questionList', { email, list: listLabel(view.list) })
    : email
      ? t.t(lang, 'public.unsubscribe.question', { email })
      : t.t(lang, 'public.unsubscribe.questionAnonymous');
  return layout(
    ctx,
    t.t(lang, 'public.unsubscribe.title'),
    html`<p>${question}</p>
${view.list ? oneClick(token, t.t(lang, 'public.unsubscribe.buttonList', { list: listLabel(view.list) }), false) : oneClick(token, t.t(lang, 'public.unsubscribe.button'), true)}
${view.list ? oneClick(token, t.t(lang, 'public.unsubscribe.buttonAll'), true, true) : ''}
${preferencesUrl ? html`<hr><p class="muted">${t.t(lang, 'public.unsubscribe.preferences')} <a href="${preferencesUrl}">${t.t(lang, 'public.preferences.title')}</a></p>` : ''}`,
  );
}

/** After an unsubscribe: what happened, and "all lists" one click further when other lists remain. */
export function unsubscribedPage(ctx: PageContext, token: string, outcome: UnsubscribeOutcome, subscribeUrl: string): string {
  const { t, lang } = ctx;
  if (outcome.kind === 'spooled') return messagePage(ctx, 'public.unsubscribe.doneTitle', t.t(lang, 'public.unsubscribe.spooled'));
  const text = outcome.left && !outcome.unsubscribed ? t.t(lang, 'public.unsubscribe.doneList', { email: outcome.email, list: listLabel(outcome.left) }) : t.t(lang, 'public.unsubscribe.done', { email: outcome.email });
  return messagePage(
    ctx,
    'public.unsubscribe.doneTitle',
    text,
    outcome.otherLists
      ? html`<p>${t.t(lang, 'public.unsubscribe.otherLists')}</p>${oneClick(token, t.t(lang, 'public.unsubscribe.buttonAll'), true, true)}`
      : html`<p><a href="${subscribeUrl}">${t.t(lang, 'public.subscribeAgain')}</a></p>`,
  );
}

/**
 * The preference centre: address, language, the public lists (joining one is confirmed by
 * mail, leaving acts at once), and unsubscribing from everything one click further down.
 */
export function preferencesPage(ctx: PageContext, token: string, view: PreferencesView, notice?: string): string {
  const { t, lang } = ctx;
  const suppressed = view.status !== 'active' && view.status !== 'pending';
  return layout(
    ctx,
    t.t(lang, 'public.preferences.title'),
    html`${notice ? html`<p role="status"><strong>${notice}</strong></p>` : ''}
<p>${t.t(lang, 'public.preferences.intro', { email: view.email })}</p>
${suppressed ? html`<p class="muted">${t.t(lang, 'public.preferences.unsubscribed')}</p>` : ''}
<form method="post" action="${paths.preferences(token)}">
<input type="hidden" name="action" value="save">
${langChoice(ctx, 'public.preferences.lang', view.lang)}
${
  view.lists.length
    ? html`<fieldset class="lists"><legend><strong>${t.t(lang, 'public.preferences.lists')}</strong></legend>
${view.lists.map(
  (list) =>
    html`<label><input type="checkbox" name="list" value="${list.name}"${list.member ? new Html(' checked') : ''}> ${listLabel(list.name)}${list.requested && !list.member ? html` <span class="muted">(${t.t(lang, 'public.preferences.awaiting')})</span>` : ''}</label>`,
)}
</fieldset><p class="muted">${t.t(lang, 'public.preferences.joinNote')}</p>`
    : ''
}
<button type="submit">${t.t(lang, 'public.preferences.save')}</button>
</form>
${
  view.status === 'active' || view.status === 'pending'
    ? html`<hr><p>${t.t(lang, 'public.preferences.leave')}</p>
<form method="post" action="${paths.preferences(token)}">
<input type="hidden" name="action" value="unsubscribe">
<button type="submit" class="secondary">${t.t(lang, 'public.preferences.leaveButton')}</button>
</form>`
    : ''
}`,
  );
}

/** The Impressum or privacy page from locales/, when the publisher links no page of their own. */
export function legalPage(ctx: PageContext, titleKey: string, text: string): string {
  return layout(ctx, ctx.t.t(ctx.lang, titleKey), html`<pre class="legal">${text}</pre>`);
}
