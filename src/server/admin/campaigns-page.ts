import type { ServerResponse } from 'node:http';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CampaignStatus } from '../../campaign/types.ts';
import type { CreateCampaignResult, UnclearRecipient } from '../../campaign/service.ts';
import { httpStatusOf } from '../../core/http-status.ts';
import type { Lang } from '../../core/lang.ts';
import { DepescheError, isDepescheError } from '../../errors.ts';
import { Html, html } from '../shared/html.ts';
import { errorBody } from '../shared/layout.ts';
import type { AdminCampaigns, CreateCampaignInput } from './api.ts';
import {
  actionButton,
  byLang,
  campaignRows,
  campaignsTable,
  confirmation,
  liveStatus,
  readerLinks,
  troubledSection,
  recipientsOf,
  restLink,
  campaignSubline,
  scriptData,
  unclearSection,
} from './campaign-views.ts';
import { adminLang, labels, t } from './i18n.ts';
import { page } from './layout.ts';
import type { TroubledReaders } from './campaign-readers.ts';

export interface IssueChoice {
  slug: string;
  title: string;
  /** `YYYY-MM-DD`; newest first in the form. */
  date?: string;
  langs?: string[];
  /** Lint errors; an issue with any is not offered (a send would refuse it). */
  errors?: number;
}

export interface CampaignsPageDeps {
  campaigns?: AdminCampaigns | undefined;
  issues?: (() => Promise<IssueChoice[]>) | undefined;
  /** The subscriber store's `lists()`. */
  lists?: (() => Promise<unknown[]>) | undefined;
  defaultList: string;
  /** Why a real send would be refused (development URLs); empty when sends may go out. */
  sendRefusal?: string[] | undefined;
  /** The issue's title per frozen edition of a campaign; the page's heading when given. */
  titles?: ((id: string) => Promise<Partial<Record<string, string>>>) | undefined;
  /** Who bounced or failed in a campaign, for the list on its page. */
  troubled?: TroubledReaders | undefined;
}

interface ListChoice {
  name: string;
  activeByLang?: Partial<Record<Lang, number>>;
}

/** What the form sends, as strings, before it is checked. */
interface SendForm {
  slug: string;
  list: string;
  when: 'now' | 'at';
  at: string;
  zone: string;
  rate: string;
  mode: '' | 'again' | 'rest';
}

const STATUS_POLL_MS = 1000;

function html200(reply: FastifyReply, body: string, status = 200): FastifyReply {
  return reply.code(status).type('text/html; charset=utf-8').header('cache-control', 'no-store').send(body);
}

function str(value: unknown, max = 200): string {
  return typeof value === 'string' ? value.trim().slice(0, max) : '';
}

function readForm(source: Record<string, unknown>, defaultList: string): SendForm {
  const mode = str(source.mode);
  return {
    slug: str(source.slug),
    list: str(source.list) || defaultList,
    when: str(source.when) === 'at' ? 'at' : 'now',
    at: str(source.at, 40),
    zone: str(source.zone, 100),
    rate: str(source.rate, 10),
    mode: mode === 'again' || mode === 'rest' ? mode : '',
  };
}

/** The form's strings as the ops API's input; the service checks the rest (zone, time, list). */
function toInput(form: SendForm, lang: Lang, dryRun: boolean): CreateCampaignInput {
  if (!form.slug) throw new DepescheError('E_INPUT', t(lang, 'admin.campaigns.error.noIssue'));
  const input: CreateCampaignInput = { slug: form.slug, list: form.list, dryRun };
  if (form.when === 'at') {
    if (!form.at) throw new DepescheError('E_INPUT', t(lang, 'admin.campaigns.error.noTime'));
    input.at = form.at;
    if (form.zone) input.zone = form.zone;
  }
  if (form.rate) {
    const rate = Number(form.rate);
    if (!Number.isInteger(rate) || rate < 1 || rate > 100_000) throw new DepescheError('E_INPUT', t(lang, 'admin.campaigns.error.rate', { rate: form.rate }));
    input.rate = rate;
  }
  if (form.mode === 'again') input.again = true;
  if (form.mode === 'rest') input.rest = true;
  return input;
}

function zones(): string[] {
  return ['UTC', ...Intl.supportedValuesOf('timeZone').filter((z) => z !== 'UTC')];
}

function errorNotice(error: unknown): Html {
  if (isDepescheError(error)) {
    return html`<div class="notice error" role="alert"><p><strong>${error.message}</strong></p>${error.hint ? html`<p>${error.hint}</p>` : ''}</div>`;
  }
  return html`<div class="notice error" role="alert"><p>${(error as Error).message}</p></div>`;
}

function statusOf(error: unknown): number {
  return isDepescheError(error) ? httpStatusOf(error.code) : 500;
}

/**
 * The campaign pages of the ops console: the list, the send form with its dry run and
 * confirmation, and one page per campaign with live progress over server-sent events.
 * Every change goes through the same AdminCampaigns the ops API uses, so the pages can do
 * nothing the API cannot.
 */
export function campaignsPage(app: FastifyInstance, deps: CampaignsPageDeps): void {
  const campaigns = (): AdminCampaigns =>
    deps.campaigns ??
    (() => {
      throw new DepescheError('E_CONFIG', 'Sending is not available in this process.', { hint: 'Run the admin app through `depesche serve` or `depesche dev`.' });
    })();
  const listAll = async () => (await campaigns().list()) as CampaignStatus[];
  const statusOfCampaign = async (id: string) => (await campaigns().status(id)) as CampaignStatus;
  const refusal = deps.sendRefusal ?? [];
  const streams = new Set<ServerResponse>();
  // The form lints every issue; doing it once at start keeps the first visit quick.
  app.addHook('onReady', async () => {
    void deps.issues?.().catch(() => {});
  });
  app.addHook('onClose', async () => {
    for (const stream of streams) stream.end();
  });

  const errorPage = (reply: FastifyReply, lang: Lang, error: unknown) => {
    const status = statusOf(error);
    const title = status === 404 ? t(lang, 'admin.common.notFound') : t(lang, 'admin.common.error');
    const detail = isDepescheError(error) ? `${error.message}${error.hint ? `\n→ ${error.hint}` : ''}` : t(lang, 'admin.common.error');
    return html200(reply, page(title, errorBody(status, title, detail, { href: '/campaigns', label: t(lang, 'admin.campaigns.back') }, 'section'), { lang, active: 'campaigns' }), status);
  };

  // ── The list ────────────────────────────────────────────────────────────────
  app.get<{ Querystring: { part?: string } }>('/campaigns', async (request, reply) => {
    const lang = adminLang(request, reply);
    let list: CampaignStatus[] = [];
    let failure: unknown;
    try {
      list = await listAll();
    } catch (error) {
      if (request.query.part === 'rows') return html200(reply, '', statusOf(error));
      failure = error;
    }
    if (request.query.part === 'rows') return html200(reply, campaignRows(lang, list).value);
    const body = html`<div class="page-head"><h1>${t(lang, 'admin.campaigns.title')}</h1><a class="btn primary" href="/campaigns/new">${t(lang, 'admin.campaigns.new')}</a></div>
${failure ? errorNotice(failure) : campaignsTable(lang, list)}
<p class="muted">${t(lang, 'admin.campaigns.timesLocal')}</p>`;
    // Without a campaign store (a bare admin app) the page still opens and says why it is empty.
    const status = failure && deps.campaigns ? statusOf(failure) : 200;
    return html200(reply, page(t(lang, 'admin.campaigns.title'), body, { lang, active: 'campaigns' }), status);
  });

  // ── The send form, its dry run and confirmation ─────────────────────────────
  const issueChoices = async (): Promise<{ offered: IssueChoice[]; held: IssueChoice[] }> => {
    const all = deps.issues ? await deps.issues().catch(() => []) : [];
    const sorted = [...all].sort((a, b) => (b.date ?? '').localeCompare(a.date ?? '') || b.slug.localeCompare(a.slug));
    return { offered: sorted.filter((i) => !i.errors), held: sorted.filter((i) => i.errors) };
  };
  const listChoices = async (): Promise<ListChoice[]> => (deps.lists ? ((await deps.lists().catch(() => [])) as ListChoice[]) : []);

  const formPage = async (lang: Lang, form: SendForm, notice?: Html): Promise<string> => {
    const [{ offered, held }, lists, sentBefore] = await Promise.all([
      issueChoices(),
      listChoices(),
      listAll().catch(() => [] as CampaignStatus[]),
    ]);
    // Newest sendable first; a slug given in the URL (e.g. "send to the rest") wins.
    const chosen = offered.find((i) => i.slug === form.slug)?.slug ?? offered[0]?.slug;
    const sentTo = (slug: string) => [...new Set(sentBefore.filter((c) => c.slug === slug && c.state !== 'cancelled').map((c) => c.list))];
    const issueField = offered.length
      ? html`<select name="slug" id="f-slug" required>${offered.map((i) => {
          const lists = sentTo(i.slug);
          return html`<option value="${i.slug}"${i.slug === chosen ? ' selected' : ''}>${i.date ? `${i.date} · ` : ''}${i.title}${i.langs?.length ? ` (${i.langs.map((l) => l.toUpperCase()).join(', ')})` : ''}${lists.length ? ` — ${t(lang, 'admin.campaigns.form.sentTo', { lists: lists.join(', ') })}` : ''}</option>`;
        })}</select>`
      : deps.issues
        ? html`<p class="notice warn">${t(lang, 'admin.campaigns.form.noSendable')}</p>`
        : html`<input name="slug" id="f-slug" required value="${form.slug}" placeholder="2026-02-22-china-ai2x">`;
    const listField = lists.length
      ? html`<select name="list" id="f-list" required>${lists.map((l) => {
          const active = Object.values(l.activeByLang ?? {}).reduce((a, b) => a + (b ?? 0), 0);
          return html`<option value="${l.name}"${l.name === form.list ? ' selected' : ''}>${l.name} (${t(lang, 'admin.campaigns.form.active', { count: active, by: byLang(lang, l.activeByLang ?? {}) })})</option>`;
        })}</select>`
      : html`<input name="list" id="f-list" required value="${form.list}">`;
    const zoneList = zones();
    const modes = [
      ['', 'admin.campaigns.form.modeFirst'],
      ['again', 'admin.campaigns.form.modeAgain'],
      ['rest', 'admin.campaigns.form.modeRest'],
    ] as const;
    const body = html`<div class="page-head"><h1>${t(lang, 'admin.campaigns.new')}</h1><a class="btn" href="/campaigns">${t(lang, 'admin.campaigns.back')}</a></div>
${refusal.length ? html`<div class="notice warn" id="refusal"><p>${t(lang, 'admin.campaigns.form.refused', { problems: refusal.join('; ') })}</p></div>` : ''}
${notice ?? ''}
<form method="post" action="/campaigns/new" class="card send-form" id="send" data-once>
<input type="hidden" name="step" value="check">
<div class="field"><label for="f-slug">${t(lang, 'admin.campaigns.field.issue')}</label>${issueField}
${held.length ? html`<span class="hint">${t(lang, 'admin.campaigns.form.held')} ${held.map((i, n) => html`${n ? ', ' : ''}<a href="/issues/${encodeURIComponent(i.slug)}">${i.slug}</a> (${t(lang, 'admin.campaigns.form.errors', { count: i.errors })})`)}</span>` : ''}</div>
<div class="field"><label for="f-list">${t(lang, 'admin.campaigns.field.list')}</label>${listField}</div>
<fieldset class="field"><legend>${t(lang, 'admin.campaigns.field.when')}</legend>
<div class="choices"><label><input type="radio" name="when" value="now"${form.when === 'now' ? ' checked' : ''}> ${t(lang, 'admin.campaigns.form.now')}</label>
<label><input type="radio" name="when" value="at"${form.when === 'at' ? ' checked' : ''}> ${t(lang, 'admin.campaigns.form.at')}</label></div>
<div class="field row when-at"><input type="datetime-local" name="at" aria-label="${t(lang, 'admin.campaigns.form.atLabel')}" value="${form.at}">
<select name="zone" aria-label="${t(lang, 'admin.campaigns.form.zone')}"${form.zone ? '' : html` data-browser-default`}>${zoneList.map((z) => html`<option${z === (form.zone || 'UTC') ? ' selected' : ''}>${z}</option>`)}</select></div>
<span class="hint">${t(lang, 'admin.campaigns.form.zoneHint')}</span></fieldset>
<div class="field"><label for="f-rate">${t(lang, 'admin.campaigns.field.rate')} <span class="hint">${t(lang, 'admin.campaigns.form.rateHint')}</span></label><input type="number" name="rate" id="f-rate" min="1" max="100000" step="1" inputmode="numeric" value="${form.rate}" placeholder="${t(lang, 'admin.campaigns.form.ratePlaceholder')}"></div>
<fieldset class="field"><legend>${t(lang, 'admin.campaigns.field.mode')}</legend><div class="choices">${modes.map(
      ([value, key]) => html`<label><input type="radio" name="mode" value="${value}"${form.mode === value ? ' checked' : ''}> ${t(lang, key)}</label>`,
    )}</div></fieldset>
<div class="actions"><button type="submit" class="btn primary" name="check"${offered.length || !deps.issues ? '' : ' disabled'}>${t(lang, 'admin.campaigns.form.check')}</button><span class="note-inline">${t(lang, 'admin.campaigns.form.checkHint')}</span></div>
</form>`;
    return page(t(lang, 'admin.campaigns.new'), body, { lang, active: 'campaigns' });
  };

  app.get<{ Querystring: Record<string, string> }>('/campaigns/new', async (request, reply) => {
    const lang = adminLang(request, reply);
    return html200(reply, await formPage(lang, readForm(request.query, deps.defaultList)));
  });

  app.post<{ Body: Record<string, unknown> }>('/campaigns/new', async (request, reply) => {
    const lang = adminLang(request);
    const form = readForm(request.body ?? {}, deps.defaultList);
    const step = str(request.body?.step);
    try {
      if (step === 'send') {
        const input = toInput(form, lang, false);
        const result = (await campaigns().create(input)) as CreateCampaignResult;
        request.log.info({ slug: input.slug, list: input.list, at: input.at, campaign: result.id }, 'campaign created from the console');
        return reply.redirect(`/campaigns/${encodeURIComponent(result.id ?? '')}`, 303);
      }
      const input = toInput(form, lang, true);
      const result = (await campaigns().create(input)) as CreateCampaignResult;
      const issues = deps.issues ? await deps.issues().catch(() => []) : [];
      const title = issues.find((i) => i.slug === form.slug)?.title ?? form.slug;
      const { summary, button } = confirmation(lang, result, { title, slug: form.slug, list: form.list, rate: input.rate, scheduled: form.when === 'at' });
      const recipients = recipientsOf(result);
      const hidden = (Object.entries(form) as [string, string][]).map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`);
      const back = `/campaigns/new?${new URLSearchParams(form as unknown as Record<string, string>).toString()}`;
      const refused = refusal.length > 0;
      const body = html`<div class="page-head"><h1>${t(lang, 'admin.campaigns.confirm.title')}</h1><a class="btn" href="${back}">${t(lang, 'admin.campaigns.confirm.change')}</a></div>
<section class="card" id="dry-run">
<p>${t(lang, 'admin.campaigns.confirm.lead')}</p>
${summary}
${result.warnings.length ? html`<div class="notice warn"><p>${t(lang, 'admin.campaigns.confirm.warnings')}</p><ul>${result.warnings.map((w) => html`<li>${w}</li>`)}</ul></div>` : ''}
${recipients === 0 ? html`<div class="notice">${t(lang, 'admin.campaigns.confirm.nobody')}</div>` : ''}
${refused ? html`<div class="notice error">${t(lang, 'admin.campaigns.form.refused', { problems: refusal.join('; ') })}</div>` : ''}
<form method="post" action="/campaigns/new" data-once class="actions" id="confirm-send">
<input type="hidden" name="step" value="send">${hidden}
<button type="submit" class="btn primary" name="send"${refused || recipients === 0 ? html` disabled data-refused` : ''}>${button}</button>
<a class="btn" href="${back}">${t(lang, 'admin.campaigns.confirm.change')}</a>
</form></section>`;
      return html200(reply, page(t(lang, 'admin.campaigns.confirm.title'), body, { lang, active: 'campaigns' }));
    } catch (error) {
      if (!isDepescheError(error)) request.log.error({ err: error }, 'campaign form failed');
      return html200(reply, await formPage(lang, form, errorNotice(error)), statusOf(error));
    }
  });

  // ── One campaign ────────────────────────────────────────────────────────────
  const liveData = (s: CampaignStatus) => ({
    state: s.state,
    total: s.total,
    sent: s.sent,
    bounced: s.bounced,
    failed: s.failed,
    skipped: s.skipped,
    unclear: s.unclear,
    remaining: s.remaining,
  });

  app.get<{ Params: { id: string }; Querystring: { part?: string } }>('/campaigns/:id', async (request, reply) => {
    const lang = adminLang(request, reply);
    const id = request.params.id.slice(0, 200);
    let status: CampaignStatus;
    try {
      status = await statusOfCampaign(id);
    } catch (error) {
      if (request.query.part) return html200(reply, '', statusOf(error));
      return errorPage(reply, lang, error);
    }
    const unclear = status.unclear > 0 ? ((await campaigns().unclear(id)) as UnclearRecipient[]) : [];
    if (request.query.part === 'live') return html200(reply, liveStatus(lang, status).value);
    if (request.query.part === 'unclear') return html200(reply, unclearSection(lang, status, unclear).value);
    const s = status;
    // The title in the page's language when that edition exists; the slug until editions are frozen.
    const titles = deps.titles ? await deps.titles(id).catch(() => ({}) as Partial<Record<string, string>>) : {};
    const title = titles[lang] ?? Object.values(titles)[0] ?? s.slug;
    const body = html`<div class="page-head"><div><h1>${title}</h1><div class="muted">${campaignSubline(lang, s)}</div></div><a class="btn" href="/campaigns">${t(lang, 'admin.campaigns.back')}</a></div>
<div class="stack">
<section class="card" id="live" data-id="${s.id}" data-status="${JSON.stringify(liveData(s))}">${liveStatus(lang, s)}</section>
${readerLinks(lang, s)}
${s.bounced + s.failed > 0 && deps.troubled ? troubledSection(lang, await deps.troubled(s.id).catch(() => ({ readers: [], complete: false }))) : ''}
<section class="card" id="actions"><h2>${t(lang, 'admin.campaigns.actions')}</h2>
<div class="actions">${actionButton(lang, s, 'pause')}${actionButton(lang, s, 'resume', 'primary')}${actionButton(lang, s, 'update')}${actionButton(lang, s, 'cancel', 'danger')}${restLink(lang, s)}</div>
<div id="action-result" class="notice" role="status" aria-live="polite" hidden></div></section>
<section class="card" id="unclear"${unclear.length ? '' : ' hidden'}>${unclearSection(lang, s, unclear)}</section>
</div>
<dialog id="confirm" class="card"><form method="dialog"><p data-text></p><div class="actions"><button class="btn primary" value="ok"></button><button class="btn" value="cancel">${t(lang, 'admin.common.back')}</button></div></form></dialog>
${scriptData({ labels: { confirm: labels(lang, 'campaigns.ask'), confirmButton: labels(lang, 'campaigns.askButton'), done: labels(lang, 'campaigns.done') } })}`;
    return html200(reply, page(`${title} · ${t(lang, 'admin.campaigns.title')}`, body, { lang, active: 'campaigns' }));
  });

  // Live progress: the server reads the status once a second and sends the fragment when it changed.
  app.get<{ Params: { id: string } }>('/campaigns/:id/events', async (request, reply) => {
    const lang = adminLang(request);
    const id = request.params.id.slice(0, 200);
    await statusOfCampaign(id); // 404 as JSON before the stream opens
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.write('retry: 2000\n\n');
    streams.add(res);
    let last = '';
    let busy = false;
    let quietTicks = 0;
    const tick = async () => {
      if (busy) return;
      // A finished campaign hardly changes (a late bounce, a resend): look every fifth second.
      if (last && /"state":"(?:done|cancelled)"/.test(last) && ++quietTicks % 5 !== 0) return;
      busy = true;
      try {
        const s = await statusOfCampaign(id);
        const payload = JSON.stringify({ status: liveData(s), html: liveStatus(lang, s).value });
        if (payload !== last) {
          last = payload;
          res.write(`event: status\ndata: ${payload}\n\n`);
        }
      } catch (error) {
        res.write(`event: failure\ndata: ${JSON.stringify({ message: isDepescheError(error) ? error.message : 'Reading the status failed.' })}\n\n`);
      } finally {
        busy = false;
      }
    };
    const timer = setInterval(() => void tick(), STATUS_POLL_MS);
    const stop = () => {
      clearInterval(timer);
      streams.delete(res);
    };
    res.on('close', stop);
    await tick();
  });
}


