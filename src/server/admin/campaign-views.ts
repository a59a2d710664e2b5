import type { CampaignStatus } from '../../campaign/types.ts';
import type { CreateCampaignResult, UnclearRecipient } from '../../campaign/service.ts';
import { editionFor } from '../../core/edition-fallback.ts';
import { LANGS, type Lang } from '../../core/lang.ts';
import { Html, html } from '../shared/html.ts';
import { locale, t } from './i18n.ts';
import type { TroubledReader } from './campaign-readers.ts';

/**
 * The campaign pages' markup, rendered on the server only: the page script swaps in the
 * fragments the server sends (rows, live status, unclear recipients) and never builds
 * markup of its own, so each piece is written once.
 */

/** The shares of a progress bar, in the order they are drawn. */
export const OUTCOMES = ['sent', 'bounced', 'failed', 'skipped', 'unclear'] as const;

/** Which actions each state allows; the API refuses the rest anyway. */
export const ACTION_STATES = {
  pause: ['scheduled', 'sending'],
  resume: ['paused'],
  update: ['scheduled', 'paused'],
  cancel: ['scheduled', 'sending', 'paused'],
  rest: ['done', 'cancelled'],
  'resend-unclear': ['sending', 'paused', 'done'],
} as const;

export type Verb = keyof typeof ACTION_STATES;

export function num(lang: Lang, value: number, digits = 0): string {
  return new Intl.NumberFormat(locale(lang), { maximumFractionDigits: digits }).format(value);
}

/** `3 min`, `1 h 5 min`; whole seconds under two minutes. */
export function duration(lang: Lang, seconds: number): string {
  const unit = (value: number, name: 'second' | 'minute' | 'hour') =>
    new Intl.NumberFormat(locale(lang), { style: 'unit', unit: name, unitDisplay: 'short', maximumFractionDigits: 0 }).format(value);
  if (seconds < 120) return unit(Math.max(1, Math.round(seconds)), 'second');
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return unit(minutes, 'minute');
  return `${unit(Math.floor(minutes / 60), 'hour')} ${unit(minutes % 60, 'minute')}`;
}

/** Date and time with the zone's name; dateStyle cannot be combined with timeZoneName. */
const TIME_FORMAT: Intl.DateTimeFormatOptions = { day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short' };

/**
 * A moment, as text in UTC for the first paint; the page script rewrites every
 * `time[data-local]` in the viewer's own time zone.
 */
export function when(lang: Lang, iso: string | undefined, zone?: string): Html {
  if (!iso) return html`<span class="muted">–</span>`;
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return html`<span class="muted">–</span>`;
  const text = new Intl.DateTimeFormat(locale(lang), { ...TIME_FORMAT, timeZone: 'UTC' }).format(date);
  const given = zone ? t(lang, 'admin.campaigns.givenIn', { zone }) : '';
  return html`<time datetime="${date.toISOString()}" data-local${given ? html` title="${given}"` : ''}>${text}</time>`;
}

export function stateBadge(lang: Lang, state: string): Html {
  return html`<span class="badge ${state}">${t(lang, `admin.campaigns.state.${state}`)}</span>`;
}

function total(status: CampaignStatus): number {
  const answered = OUTCOMES.reduce((sum, key) => sum + (status[key] ?? 0), 0);
  return Math.max(status.total, answered + status.remaining, 1);
}

/** Answered of all, in whole per cent (never 100 before the last one). */
function percent(status: CampaignStatus): number {
  const whole = total(status);
  const answered = OUTCOMES.reduce((sum, key) => sum + (status[key] ?? 0), 0);
  const value = Math.floor((answered / whole) * 100);
  return answered < whole && value === 100 ? 99 : value;
}

export function progressBar(lang: Lang, status: CampaignStatus, big = false): Html {
  const whole = total(status);
  const parts = OUTCOMES.filter((key) => status[key] > 0).map(
    (key) => html`<span class="${key}" style="width:${((status[key] / whole) * 100).toFixed(2)}%" title="${t(lang, `admin.campaigns.outcome.${key}`)}: ${num(lang, status[key])}"></span>`,
  );
  return html`<div class="progress${big ? ' big' : ''}" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="${percent(status)}" aria-label="${t(lang, 'admin.campaigns.progress')}">${parts}</div>`;
}

function rate(lang: Lang, status: CampaignStatus): string {
  return status.rate > 0 ? t(lang, 'admin.campaigns.perSecond', { rate: num(lang, status.rate, 1) }) : '–';
}

function eta(lang: Lang, status: CampaignStatus): string {
  if (status.state === 'done' || status.state === 'cancelled') return '–';
  return status.eta === null || status.eta === undefined ? '–' : duration(lang, status.eta);
}

/** One row of the campaigns table. */
export function campaignRow(lang: Lang, c: CampaignStatus): Html {
  const answered = OUTCOMES.reduce((sum, key) => sum + c[key], 0);
  return html`<tr data-id="${c.id}" data-state="${c.state}">
<td>${stateBadge(lang, c.state)}${c.reason ? html`<div class="slug">${c.reason}</div>` : ''}${c.warning ? html`<div class="slug warn">${c.warning}</div>` : ''}</td>
<td><a class="issue-link" href="/campaigns/${encodeURIComponent(c.id)}">${c.slug}</a><div class="slug">${c.id}</div></td>
<td data-label="${t(lang, 'admin.campaigns.column.list')}">${c.list}</td>
<td class="progress-cell">${progressBar(lang, c)}<div class="slug">${t(lang, 'admin.campaigns.answeredOf', { answered: num(lang, answered), total: num(lang, c.total) })} · ${percent(c)} %</div></td>
<td class="num" data-label="${t(lang, 'admin.campaigns.column.rate')}">${rate(lang, c)}</td>
<td class="num" data-label="${t(lang, 'admin.campaigns.column.eta')}">${eta(lang, c)}</td>
<td class="nowrap" data-label="${t(lang, 'admin.campaigns.column.at')}">${when(lang, c.at, c.zone)}</td>
</tr>`;
}

export function campaignRows(lang: Lang, campaigns: CampaignStatus[]): Html {
  if (campaigns.length === 0) {
    return html`<tr><td colspan="7" class="empty">${t(lang, 'admin.campaigns.noneYet')} <a href="/campaigns/new">${t(lang, 'admin.campaigns.startFirst')}</a></td></tr>`;
  }
  return html`${campaigns.map((c) => campaignRow(lang, c))}`;
}

export function campaignsTable(lang: Lang, campaigns: CampaignStatus[]): Html {
  const head = ['state', 'issue', 'list', 'progress', 'rate', 'eta', 'at'].map(
    (key) => html`<th${key === 'rate' || key === 'eta' ? html` class="num"` : ''}>${t(lang, `admin.campaigns.column.${key}`)}</th>`,
  );
  return html`<div class="scroll card flush"><table class="data campaigns"><thead><tr>${head}</tr></thead><tbody id="rows" data-refresh="/campaigns?part=rows">${campaignRows(lang, campaigns)}</tbody></table></div>`;
}

/** The live part of a campaign page: state, bar, counts and times. The server sends it again on every change. */
export function liveStatus(lang: Lang, s: CampaignStatus): Html {
  const legend = [...OUTCOMES.filter((key) => key === 'sent' || s[key] > 0), 'remaining' as const].map(
    (key) => html`<li class="${key}" data-count="${key}">${t(lang, `admin.campaigns.outcome.${key}`)} <b>${num(lang, key === 'remaining' ? s.remaining : s[key])}</b></li>`,
  );
  const fact = (key: string, value: Html | string) => html`<dt>${t(lang, `admin.campaigns.fact.${key}`)}</dt><dd data-fact="${key}">${value}</dd>`;
  return html`<div class="live-head">${stateBadge(lang, s.state)} <span class="muted">${percent(s)} %</span>
${s.reason ? html`<span class="muted">· ${s.reason}</span>` : ''}</div>
${s.warning ? html`<p class="notice warn">${s.warning}</p>` : ''}
${progressBar(lang, s, true)}
<ul class="legend">${legend}</ul>
<dl class="facts">
${fact('total', html`${num(lang, s.total)}${s.fannedOut ? '' : html` <span class="muted">(${t(lang, 'admin.campaigns.counting')})</span>`}`)}
${s.previously ? fact('previously', num(lang, s.previously)) : ''}
${s.plan ? fact('plan', s.plan.summary) : ''}
${s.skipped > 0 && s.skippedBy ? fact('skipped', skippedWords(lang, s)) : ''}
${fact('rate', rate(lang, s))}
${fact('eta', eta(lang, s))}
${fact('at', when(lang, s.at, s.zone))}
${s.startedAt ? fact('started', when(lang, s.startedAt)) : ''}
${s.finishedAt ? fact('finished', when(lang, s.finishedAt)) : ''}
${fact('version', String(s.version))}
</dl>`;
}

/** `2 no edition in their language · 1 left the list`, in the page's language. */
function skippedWords(lang: Lang, s: CampaignStatus): string {
  const parts = (Object.entries(s.skippedBy) as [string, number][]).filter(([, n]) => n > 0).map(([reason, n]) => `${num(lang, n)} ${t(lang, `admin.campaigns.skipReason.${reason}`)}`);
  return parts.join(' · ') || num(lang, s.skipped);
}

export function unclearSection(lang: Lang, s: CampaignStatus, unclear: UnclearRecipient[]): Html {
  if (unclear.length === 0) return html``;
  const rows = unclear.map(
    (u) => html`<tr><td>${u.email ?? html`<span class="muted">${u.id}</span>`}</td><td>${u.name ?? ''}</td><td>${u.lang ? u.lang.toUpperCase() : ''}</td><td>${u.cause}</td></tr>`,
  );
  return html`<h2>${t(lang, 'admin.campaigns.unclear.title', { count: unclear.length })}</h2>
<p class="muted">${t(lang, 'admin.campaigns.unclear.explain')}</p>
<div class="scroll"><table class="data"><thead><tr><th>${t(lang, 'admin.campaigns.unclear.email')}</th><th>${t(lang, 'admin.campaigns.unclear.name')}</th><th>${t(lang, 'admin.campaigns.unclear.lang')}</th><th>${t(lang, 'admin.campaigns.unclear.cause')}</th></tr></thead><tbody>${rows}</tbody></table></div>
<div class="actions" style="margin-top:12px">${actionButton(lang, s, 'resend-unclear', 'primary', { count: unclear.length })}</div>`;
}

export function actionButton(lang: Lang, s: CampaignStatus, verb: Exclude<Verb, 'rest'>, kind = '', vars: Record<string, unknown> = {}): Html {
  const states = ACTION_STATES[verb] as readonly string[];
  const confirm = verb === 'cancel' || verb === 'update' || verb === 'resend-unclear';
  return html`<button type="button" class="btn${kind ? ` ${kind}` : ''}" data-verb="${verb}" data-states="${states.join(' ')}"${confirm ? html` data-confirm="${verb}"` : ''}${states.includes(s.state) ? '' : html` hidden`}>${t(lang, `admin.campaigns.action.${verb}`, vars)}</button>`;
}

export function restLink(lang: Lang, s: CampaignStatus): Html {
  const href = `/campaigns/new?${new URLSearchParams({ slug: s.slug, list: s.list, mode: 'rest' }).toString()}`;
  return html`<a class="btn" href="${href}" data-states="${ACTION_STATES.rest.join(' ')}"${(ACTION_STATES.rest as readonly string[]).includes(s.state) ? '' : html` hidden`}>${t(lang, 'admin.campaigns.action.rest')}</a>`;
}

/** Under a campaign's heading: its issue (linked to the preview), its list (linked to the list's page), its id. */
export function campaignSubline(lang: Lang, s: CampaignStatus): Html {
  const list = html`<a href="/lists/${encodeURIComponent(s.list)}">${s.list}</a>`;
  return html`<a href="/issues/${encodeURIComponent(s.slug)}">${s.slug}</a> · ${new Html(t(lang, 'admin.campaigns.toList', { list: list.value }))} · <code>${s.id}</code>`;
}

/**
 * From a campaign to the readers behind its answers: the list's bounced and complained
 * subscribers (a complaint arrives later and is kept on the reader, not in the ledger), and
 * the whole list. Each reader's page names the campaign each answer came from.
 */
export function readerLinks(lang: Lang, s: CampaignStatus): Html {
  const to = (status: string) => `/subscribers?${new URLSearchParams({ list: s.list, ...(status ? { status } : {}) }).toString()}`;
  return html`<nav class="actions" id="reader-links" aria-label="${t(lang, 'admin.campaigns.readers.label')}">
<a class="btn" href="${to('bounced')}">${t(lang, 'admin.campaigns.readers.bounced', { list: s.list })}</a>
<a class="btn" href="${to('complained')}">${t(lang, 'admin.campaigns.readers.complained', { list: s.list })}</a>
<a class="btn" href="${to('')}">${t(lang, 'admin.campaigns.readers.all', { list: s.list })}</a></nav>`;
}

/** Who bounced or failed in this campaign, each linked to their page, with the answer the ledger noted. */
export function troubledSection(lang: Lang, found: { readers: TroubledReader[]; complete: boolean }): Html {
  if (found.readers.length === 0) return html``;
  const rows = found.readers.map(
    (r) => html`<tr><td>${r.email ? html`<a href="/subscribers/${encodeURIComponent(r.id)}">${r.email}</a>` : html`<span class="muted">${r.id}</span>`}</td><td><span class="badge ${r.result === 'bounced' ? 'bounced' : 'failed'}">${t(lang, `admin.campaigns.outcome.${r.result}`)}</span></td><td>${r.note}</td></tr>`,
  );
  return html`<section class="card" id="troubled"><h2>${t(lang, 'admin.campaigns.troubled.title', { count: found.readers.length })}</h2>
<div class="scroll"><table class="data"><thead><tr><th>${t(lang, 'admin.campaigns.unclear.email')}</th><th>${t(lang, 'admin.subscribers.result')}</th><th>${t(lang, 'admin.campaigns.unclear.cause')}</th></tr></thead><tbody>${rows}</tbody></table></div>
${found.complete ? '' : html`<p class="muted">${t(lang, 'admin.campaigns.troubled.more')}</p>`}</section>`;
}

/** Counts per language, e.g. `DE 3 · EN 3`, for the languages that have readers. */
export function byLang(lang: Lang, counts: Partial<Record<Lang, number>>): string {
  return LANGS.filter((l) => (counts[l] ?? 0) > 0).map((l) => `${l.toUpperCase()} ${num(lang, counts[l] ?? 0)}`).join(' · ') || '0';
}

/** Who a send would mail: the rest when it is a send to the rest, else everyone the plan gives an edition. */
export function recipientsOf(result: CreateCampaignResult): number {
  if (result.rest) return result.rest.remaining;
  return result.plan ? result.plan.total : result.total;
}

/** What a dry run found, and the one button that sends exactly that. */
export function confirmation(
  lang: Lang,
  result: CreateCampaignResult,
  input: { title: string; slug: string; list: string; rate?: number | undefined; scheduled: boolean },
): { summary: Html; button: string } {
  const recipients = recipientsOf(result);
  // What each language's readers get, decided as the batch will (editionFor, the campaign's policy).
  const gets = (l: Lang): Html => {
    if (result.langs.length === 0) return html``;
    const choice = editionFor(result.langs, l, result.plan?.policy ?? 'other');
    if (choice.kind === 'own') return html`${t(lang, 'admin.campaigns.confirm.hasEdition')}`;
    if (choice.kind === 'fallback') return html`<span class="warn">${t(lang, 'admin.campaigns.confirm.fallback', { edition: choice.lang.toUpperCase() })}</span>`;
    return html`<span class="fail">${t(lang, 'admin.campaigns.confirm.noEdition')}</span>`;
  };
  const langRows = LANGS.filter((l) => result.counts[l] > 0 || result.langs.includes(l)).map(
    (l) => html`<tr><td>${t(lang, `admin.campaigns.langName.${l}`)}</td><td class="num">${num(lang, result.counts[l])}</td><td>${gets(l)}</td></tr>`,
  );
  const seconds = input.rate ? recipients / input.rate : undefined;
  const summary = html`<dl class="facts">
<dt>${t(lang, 'admin.campaigns.field.issue')}</dt><dd><strong>${input.title}</strong> <span class="muted">${input.slug}</span></dd>
<dt>${t(lang, 'admin.campaigns.field.list')}</dt><dd>${input.list}</dd>
<dt>${t(lang, 'admin.campaigns.fact.recipients')}</dt><dd data-fact="recipients"><strong>${num(lang, recipients)}</strong>${result.rest ? html` <span class="muted">${t(lang, 'admin.campaigns.confirm.restOf', { reached: num(lang, result.rest.reached), total: num(lang, result.total) })}</span>` : ''}</dd>
<dt>${t(lang, 'admin.campaigns.fact.start')}</dt><dd>${input.scheduled ? html`${when(lang, result.at, result.zone)} <span class="muted">(${result.when})</span>` : t(lang, 'admin.campaigns.confirm.now')}</dd>
<dt>${t(lang, 'admin.campaigns.field.rate')}</dt><dd>${input.rate ? html`${t(lang, 'admin.campaigns.perSecond', { rate: num(lang, input.rate) })}${seconds !== undefined ? html` <span class="muted">(${t(lang, 'admin.campaigns.confirm.takes', { duration: duration(lang, seconds) })})</span>` : ''}` : t(lang, 'admin.campaigns.confirm.defaultRate')}</dd>
</dl>
<div class="scroll"><table class="data by-lang"><thead><tr><th>${t(lang, 'admin.campaigns.confirm.language')}</th><th class="num">${t(lang, 'admin.campaigns.confirm.readers')}</th><th>${t(lang, 'admin.campaigns.confirm.edition')}</th></tr></thead><tbody>${langRows}</tbody></table></div>`;
  const key = input.scheduled ? 'admin.campaigns.confirm.schedule' : 'admin.campaigns.confirm.send';
  return { summary, button: t(lang, key, { count: recipients, n: num(lang, recipients), list: input.list }) };
}

/** Labels the page script needs, as JSON that is safe inside a <script> element. */
export function scriptData(value: unknown): Html {
  return new Html(`<script type="application/json" id="console-data">${JSON.stringify(value).replace(/</g, '\\u003c')}</script>`);
}
