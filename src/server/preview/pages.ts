import { escapeHtml } from '../../core/escape.ts';
import { LANGS } from '../../core/lang.ts';
import { Html, html } from '../shared/html.ts';
import { errorBody as sharedErrorBody, frame, type NavLink } from '../shared/layout.ts';
import type { PreviewFinding, PreviewIssueSummary, PreviewTemplateSummary } from './types.ts';
import type { IssueState, PreviewFailure } from './state.ts';

/** Gmail cuts a message's HTML after about 102 KB; lint warns from 80 KB. */
export const GMAIL_CLIP_BYTES = 102 * 1024;
export const SIZE_WARN_BYTES = 80 * 1024;

interface LayoutOptions {
  title: string;
  /** Where the plugin is mounted, e.g. `/preview`; every link in the page is relative to it. */
  base: string;
  page: 'index' | 'issue' | 'templates' | 'error';
  slug?: string;
  body: string;
  /** Other pages of the app the preview is mounted in, e.g. the dev inbox. */
  links?: readonly NavLink[];
}

export type { NavLink } from '../shared/layout.ts';

export function layout({ title, base, page, slug, body, links = [] }: LayoutOptions): string {
  return frame({
    lang: 'en',
    title: `${title} · Depesche preview`,
    assets: 'assets/',
    base: base.replace(/\/*$/, '/'),
    brand: { href: './', sub: 'preview' },
    crumb: page === 'issue' ? title : '',
    nav: [{ href: 'templates', label: 'Templates', id: 'templates' }, ...links],
    active: page === 'templates' ? 'templates' : 'preview',
    barEnd: html`<span class="live" id="live" title="Live reload connection">connecting…</span>`,
    head: html`<script type="module" src="assets/preview.js"></script>`,
    bodyAttributes: html`data-page="${page}"${slug ? html` data-slug="${slug}"` : ''}`,
    body: new Html(body),
  });
}

export function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

export interface IndexRow {
  summary: PreviewIssueSummary;
  state: IssueState | undefined;
}

function lintCell(state: IssueState | undefined): string {
  if (!state) return '<span class="badge muted">not built</span>';
  if (state.failure) return '<span class="badge error">build fails</span>';
  if (!state.findings) return '<span class="badge muted">linting…</span>';
  const errors = state.findings.filter((f) => f.severity === 'error').length;
  const warnings = state.findings.filter((f) => f.severity === 'warning').length;
  if (errors) return `<span class="badge error">${errors} error${errors === 1 ? '' : 's'}</span>${warnings ? ` <span class="badge warn">${warnings} warning${warnings === 1 ? '' : 's'}</span>` : ''}`;
  if (warnings) return `<span class="badge warn">${warnings} warning${warnings === 1 ? '' : 's'}</span>`;
  return '<span class="badge ok">clean</span>';
}

function sizeCell(state: IssueState | undefined): string {
  if (!state?.editions?.length) return '<span class="muted">–</span>';
  return state.editions
    .map((e) => {
      const cls = e.htmlBytes >= GMAIL_CLIP_BYTES ? 'error' : e.htmlBytes >= SIZE_WARN_BYTES ? 'warn' : 'ok';
      return `<span class="size ${cls}" title="${e.htmlBytes} bytes of HTML">${e.lang.toUpperCase()} ${kb(e.htmlBytes)}</span>`;
    })
    .join(' ');
}

export function indexBody(rows: IndexRow[], listFailure?: PreviewFailure): string {
  if (listFailure) return `<main class="index">${failureBox('The issues cannot be listed', listFailure)}</main>`;
  const sorted = [...rows].sort((a, b) => b.summary.date.localeCompare(a.summary.date) || a.summary.slug.localeCompare(b.summary.slug));
  const body = sorted
    .map(({ summary, state }) => {
      const href = `issues/${encodeURIComponent(summary.slug)}`;
      return `<tr data-slug="${escapeHtml(summary.slug)}">
  <td><a class="issue-link" href="${href}">${escapeHtml(summary.title || summary.slug)}</a><div class="slug">${escapeHtml(summary.slug)} · ${escapeHtml(summary.template)}</div></td>
  <td class="nowrap">${escapeHtml(summary.date)}</td>
  <td>${summary.langs.map((l) => `<a class="lang" href="${href}?lang=${l}">${l.toUpperCase()}</a>`).join(' ')}</td>
  <td>${sizeCell(state)}</td>
  <td>${lintCell(state)}</td>
</tr>`;
    })
    .join('\n');
  return `<main class="index">
<h1>Issues</h1>
${
  rows.length === 0
    ? '<p class="empty">No issues yet. Create <code>issues/&lt;slug&gt;/de.md</code> and <code>en.md</code>; this page updates by itself.</p>'
    : `<table class="issues"><thead><tr><th>Issue</th><th>Date</th><th>Languages</th><th>HTML size</th><th>Lint</th></tr></thead><tbody>
${body}
</tbody></table>`
}
</main>`;
}

export function failureBox(title: string, failure: PreviewFailure): string {
  const where = failure.file ? `${failure.file}${failure.line ? `:${failure.line}` : ''}` : '';
  return `<section class="failure" role="alert"><h2>${escapeHtml(title)}</h2>${where ? `<p class="where">${escapeHtml(where)}</p>` : ''}<pre>${escapeHtml(failure.message)}</pre></section>`;
}

/** The shell of the issue view; preview.js fills it from the JSON endpoint and keeps it live. */
export function issueBody(summary: PreviewIssueSummary): string {
  const langButtons = summary.langs
    .map((l) => `<button type="button" data-lang="${l}">${l.toUpperCase()}</button>`)
    .join('');
  return `<main class="issue">
<div class="toolbar" role="toolbar">
  <div class="seg" id="lang-switch" aria-label="Language" title="Key: l" data-all="${LANGS.join(' ')}">${langButtons}<button type="button" data-lang="both" title="${summary.langs.length > 1 ? 'Both editions side by side' : 'The one edition, with what readers of the other language get'}">Side by side</button></div>
  <div class="seg" id="width-switch" aria-label="Width" title="Key: w"><button type="button" data-width="desktop" title="600 px and wider">Desktop</button><button type="button" data-width="mobile" title="375 px">Mobile 375</button></div>
  <div class="seg" id="tab-switch" aria-label="View" title="Keys: p, t, h, m"><button type="button" data-tab="preview">Preview</button><button type="button" data-tab="text">Text</button><button type="button" data-tab="html">HTML</button><button type="button" data-tab="mjml">MJML</button></div>
  <label class="toggle" title="Emulates prefers-color-scheme: dark inside the mail (key: d)"><input type="checkbox" id="dark-toggle"> Dark mode</label>
  <span class="status" id="build-status"></span>
</div>
<div class="workspace">
  <div class="editions" id="editions"></div>
  <aside class="side">
    <section class="panel" id="lint-panel"><h2>Lint <span class="count" id="lint-count"></span></h2><ul class="findings" id="findings"><li class="muted">Linting…</li></ul></section>
    <section class="panel" id="proof-panel">
      <h2>Send a proof</h2>
      <form id="proof-form">
        <label>To <input type="email" name="to" required placeholder="you@example.org" autocomplete="email"></label>
        <label>Language <select name="lang">${summary.langs.map((l) => `<option value="${l}">${l.toUpperCase()}</option>`).join('')}<option value="all">All</option></select></label>
        <button type="submit">Send proof</button>
        <p class="proof-result" id="proof-result" aria-live="polite"></p>
      </form>
    </section>
  </aside>
</div>
<div class="overlay" id="overlay" hidden><div class="overlay-box" role="alert"><h2>Build failed</h2><p class="where" id="overlay-where"></p><pre id="overlay-message"></pre><p class="overlay-hint">Fix the file and save: this page updates by itself.</p></div></div>
</main>`;
}

function findingItem(f: PreviewFinding): string {
  const where = f.file ? `${f.file}${f.line ? `:${f.line}` : ''}` : '';
  return `<li class="finding ${escapeHtml(f.severity)}" data-rule="${escapeHtml(f.rule)}"><div class="finding-head"><span class="badge ${f.severity === 'error' ? 'error' : 'warn'}">${escapeHtml(f.severity)}</span><span class="finding-rule">${escapeHtml(f.rule)}</span></div><div class="finding-message">${escapeHtml(f.message)}</div>${f.hint ? `<div class="finding-hint">→ ${escapeHtml(f.hint)}</div>` : ''}${where ? `<span class="finding-where">${escapeHtml(where)}</span>` : ''}</li>`;
}

/**
 * The template view: findings the templates and locale files cause (reported here and by
 * `depesche lint --templates`, never on each issue), and each template's probe mail as
 * sent and with every <style> removed, as GMX and WEB.DE desktop webmail show it.
 */
export function templatesBody(templates: readonly PreviewTemplateSummary[], findings: readonly PreviewFinding[] | null): string {
  const list =
    findings === null
      ? '<p class="muted">This preview\'s compiler has no template checks.</p>'
      : findings.length === 0
        ? '<ul class="findings"><li class="clean">No findings: the templates pass every template rule (client support, layout without &lt;style&gt;, locale keys).</li></ul>'
        : `<ul class="findings">${findings.map(findingItem).join('')}</ul>`;
  const sections = templates
    .map((t) => {
      const frame = (stripped: boolean) => `<figure class="probe"><figcaption>${stripped ? 'Without &lt;style&gt; (GMX, WEB.DE desktop)' : 'As sent'}</figcaption><div class="viewport"><iframe title="${escapeHtml(t.name)} ${stripped ? 'without style' : 'as sent'}" src="templates/${encodeURIComponent(t.name)}/de/email.html${stripped ? '?stripped=1' : ''}" loading="lazy"></iframe></div></figure>`;
      return `<section class="template" data-template="${escapeHtml(t.name)}"><h2>${escapeHtml(t.name)} <span class="slug">${escapeHtml(t.file)} · body: ${t.body === 'blocks' ? '::: blocks' : 'Markdown'} · greeting ${t.greeting ? 'on' : 'off'}</span></h2><div class="probes">${frame(false)}${frame(true)}</div></section>`;
    })
    .join('\n');
  return `<main class="templates-page">
<h1>Templates</h1>
<p class="intro">What the templates and locale files cause is the same for every issue, so it is checked here once (and by <code>depesche lint --templates</code>), on a probe issue that uses every part and Markdown feature.</p>
<section class="panel" id="template-findings"><h2>Template lint</h2>${list}</section>
${sections}
</main>`;
}

export function errorBody(status: number, title: string, detail: string): string {
  return sharedErrorBody(status, title, detail, { href: './', label: 'Back to the issues' }).value;
}
