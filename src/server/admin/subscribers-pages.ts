import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { deliveriesOf } from '../../campaign/recipient-history.ts';
import { LANGS, isLang } from '../../core/lang.ts';
import { DepescheError } from '../../errors.ts';
import { consentEvent } from '../../subscribers/consent.ts';
import type { RedisSubscriberStore, SubscriberRecord } from '../../subscribers/redis-store.ts';
import { searchSubscribers } from '../../subscribers/subscriber-search.ts';
import { SUBSCRIBER_STATUSES, type SubscriberStatus } from '../../subscribers/types.ts';
import { checkListName, checkName } from '../../subscribers/validate.ts';
import { html, type Html } from '../shared/html.ts';
import { badge, consoleActor, done, field, labels, notice, query, sendPage, when, type T } from './console-kit.ts';

/**
 * The console's subscriber pages, rendered on the server and usable without JavaScript:
 *
 *   GET  /subscribers?q=&list=&status=&language=&cursor=   search (search-index.ts), paged;
 *        `language` is the readers'; `lang` stays the console's own (?lang=de switches it)
 *   GET  /subscribers/:id                              one reader: state, lists, consent,
 *                                                      deliveries (the ledgers), bounces
 *   POST /subscribers/:id/profile                      name and language
 *   POST /subscribers/:id/leave                        off one list (remembered as left)
 *   POST /subscribers/:id/unsubscribe                  all mail stops
 *   POST /subscribers/:id/reactivate                   a bounce back to active (only a bounce)
 *   GET  /subscribers/:id/forget, POST …               erasure, after typing the address
 *
 * Every change needs a reason and is logged with `admin-console` as who; forms post
 * back and are redirected (303) to the page, which says what happened.
 */

const PAGE_SIZE = 50;

export function subscribersPages(app: FastifyInstance, deps: { store: RedisSubscriberStore }): void {
  const { store } = deps;

  // Subscribers from before the index (or an index lost with its keys) are indexed once,
  // in the background, on the first search; the page says so until it is done.
  let indexing: { done: number; running: Promise<void> } | undefined;
  const indexState = async (): Promise<number | null> => {
    if (indexing) return indexing.done;
    if (await store.search.ready()) return null;
    const state = { done: 0, running: Promise.resolve() };
    state.running = store.search
      .rebuild((ids) => store.getMany(ids), (done) => (state.done = done))
      .then((count) => app.log.info({ count }, 'search index built'))
      .catch((error: unknown) => app.log.error({ err: error }, 'building the search index failed'))
      .finally(() => (indexing = undefined));
    indexing = state;
    return 0;
  };

  app.get('/subscribers', async (request, reply) => {
    const t = await labels(request);
    const q = request.query as Record<string, string | undefined>;
    const filters = {
      q: (q.q ?? '').slice(0, 200),
      list: q.list && checkListName(q.list).ok ? q.list : '',
      status: (SUBSCRIBER_STATUSES as readonly string[]).includes(q.status ?? '') ? (q.status as SubscriberStatus) : undefined,
      lang: isLang(q.language) ? q.language : undefined,
    };
    const lists = (await store.lists()).map((l) => l.name);
    const indexed = await indexState();
    let results: Html;
    let status = 200;
    try {
      const found = await searchSubscribers(store, { ...filters, list: filters.list || undefined, cursor: q.cursor ?? null, limit: PAGE_SIZE });
      const next = found.next ? query({ q: filters.q, list: filters.list, status: filters.status, language: filters.lang, cursor: found.next }) : '';
      results = html`<p id="search-stats">${t('admin.subscribers.shown', { count: found.subscribers.length, ms: found.ms })}</p>
${found.subscribers.length ? subscriberTable(t, found.subscribers) : html`<p>${t('admin.subscribers.none')}</p>`}
<nav class="pager">${q.cursor ? html`<a class="btn" href="/subscribers${query({ q: filters.q, list: filters.list, status: filters.status, language: filters.lang })}">${t('admin.subscribers.first')}</a>` : ''}
${next ? html`<a class="btn" rel="next" href="/subscribers${next}">${t('admin.subscribers.next')}</a>` : ''}</nav>`;
    } catch (error) {
      const shown = notice(error);
      status = shown.status;
      results = shown.html;
    }
    const option = (value: string, label: string, selected: string | undefined) => html`<option value="${value}"${value === (selected ?? '') ? html` selected` : ''}>${label}</option>`;
    const body = html`<h1>${t('admin.subscribers.title')}</h1>
${q.erased ? done(t('admin.subscribers.erased')) : ''}
${indexed !== null ? html`<div class="notice" role="status">${t('admin.subscribers.indexing', { count: indexed })}</div>` : ''}
<form class="filters" method="get" action="/subscribers" role="search">
<input type="search" name="q" value="${filters.q}" placeholder="${t('admin.subscribers.searchPlaceholder')}" aria-label="${t('admin.subscribers.search')}" autofocus>
<select name="list" aria-label="${t('admin.subscribers.list')}">${option('', t('admin.subscribers.allLists'), filters.list)}${lists.map((l) => option(l, l, filters.list))}</select>
<select name="status" aria-label="${t('admin.subscribers.status')}">${option('', t('admin.subscribers.allStatuses'), filters.status)}${SUBSCRIBER_STATUSES.map((s) => option(s, t(`admin.subscribers.statuses.${s}`), filters.status))}</select>
<select name="language" aria-label="${t('admin.subscribers.lang')}">${option('', t('admin.subscribers.allLangs'), filters.lang)}${LANGS.map((l) => option(l, l.toUpperCase(), filters.lang))}</select>
<button class="btn primary" type="submit">${t('admin.subscribers.search')}</button>
</form>
${results}`;
    return sendPage(reply, t('admin.subscribers.title'), body, { status });
  });

  const subscriberOf = async (request: FastifyRequest): Promise<SubscriberRecord> => {
    const { id } = request.params as { id: string };
    const subscriber = await store.get(id);
    if (!subscriber) throw new DepescheError('E_NOT_FOUND', `No subscriber with id ${id}.`, { hint: 'They may have been erased; search again.' });
    return subscriber;
  };

  const showSubscriber = async (request: FastifyRequest, reply: FastifyReply, outcome: { done?: string; error?: unknown } = {}) => {
    const t = await labels(request);
    let subscriber: SubscriberRecord;
    try {
      subscriber = await subscriberOf(request);
    } catch (error) {
      const shown = notice(error);
      return sendPage(reply, t('admin.subscribers.title'), html`<p><a href="/subscribers">← ${t('admin.subscribers.title')}</a></p>${shown.html}`, { status: shown.status });
    }
    const shown = outcome.error ? notice(outcome.error) : undefined;
    const [history, deliveries] = await Promise.all([store.consentLog(subscriber.id), deliveriesOf(store.redis, store.keys, subscriber.id)]);
    const problems = history.filter((e) => e.event === 'bounced' || e.event === 'complained');
    const ledgerProblems = deliveries.filter((d) => d.result === 'bounced' || d.result === 'failed');
    const reason = html`<div class="field"><label>${t('admin.subscribers.reason')} <input name="reason" required minlength="3" maxlength="500" placeholder="${t('admin.subscribers.reasonPlaceholder')}"></label></div>`;
    const action = (path: string) => `/subscribers/${encodeURIComponent(subscriber.id)}/${path}`;
    const statusLabel = t(`admin.subscribers.statuses.${subscriber.status}`);
    const body = html`<p><a href="/subscribers">← ${t('admin.subscribers.title')}</a></p>
<h1 style="overflow-wrap:anywhere">${subscriber.email}</h1>
${shown ? shown.html : done(outcome.done)}
<dl class="facts">
<dt>${t('admin.subscribers.status')}</dt><dd>${badge(subscriber.status, statusLabel)}${subscriber.statusReason ? html` <small>${subscriber.statusReason}</small>` : ''}</dd>
<dt>${t('admin.subscribers.name')}</dt><dd>${subscriber.name || '—'}</dd>
<dt>${t('admin.subscribers.lang')}</dt><dd>${subscriber.lang.toUpperCase()}</dd>
<dt>${t('admin.subscribers.lists')}</dt><dd>${subscriber.lists.length ? subscriber.lists.join(', ') : '—'}</dd>
${Object.keys(subscriber.left).length ? html`<dt>${t('admin.subscribers.left')}</dt><dd>${Object.entries(subscriber.left).map(([l, at]) => `${l} (${when(at)})`).join(', ')}</dd>` : ''}
<dt>${t('admin.subscribers.source')}</dt><dd>${subscriber.consent.source ?? '—'}</dd>
<dt>${t('admin.subscribers.confirmed')}</dt><dd>${subscriber.consent.confirmedAt ? `${when(subscriber.consent.confirmedAt)} · ${subscriber.consent.confirmedIp ?? ''}` : '—'}</dd>
<dt>${t('admin.subscribers.created')}</dt><dd>${when(subscriber.createdAt)}</dd>
<dt>Id</dt><dd><code>${subscriber.id}</code></dd>
</dl>

<section class="card"><h2>${t('admin.subscribers.profile')}</h2>
<form method="post" data-once action="${action('profile')}">
<div class="field"><label>${t('admin.subscribers.name')} <input name="name" value="${subscriber.name}" maxlength="200"></label></div>
<div class="field"><label>${t('admin.subscribers.lang')} <select name="lang">${LANGS.map((l) => html`<option value="${l}"${l === subscriber.lang ? html` selected` : ''}>${l.toUpperCase()}</option>`)}</select></label></div>
${reason}
<div class="actions"><button class="btn primary" type="submit">${t('admin.subscribers.save')}</button></div>
</form></section>

<section class="card"><h2>${t('admin.subscribers.membership')}</h2>
${subscriber.lists.length
    ? html`<form method="post" data-once action="${action('leave')}">
<div class="field"><label>${t('admin.subscribers.list')} <select name="list">${subscriber.lists.map((l) => html`<option value="${l}">${l}</option>`)}</select></label></div>
${reason}
<div class="actions"><button class="btn" type="submit">${t('admin.subscribers.leave')}</button></div></form>`
    : html`<p>${t('admin.subscribers.noLists')}</p>`}
${subscriber.status === 'unsubscribed' || subscriber.status === 'complained'
    ? html`<p>${t('admin.subscribers.finalState')}</p>`
    : html`<form method="post" data-once action="${action('unsubscribe')}">${reason}
<div class="actions"><button class="btn danger" type="submit">${t('admin.subscribers.unsubscribeAll')}</button></div></form>`}
${subscriber.status === 'bounced'
    ? html`<form method="post" data-once action="${action('reactivate')}">${reason}
<div class="actions"><button class="btn" type="submit">${t('admin.subscribers.reactivate')}</button></div></form>`
    : ''}
</section>

<section class="card"><h2>${t('admin.subscribers.deliveries')}</h2>
${deliveries.length
    ? html`<div class="scroll"><table class="data"><thead><tr><th>${t('admin.subscribers.campaign')}</th><th>${t('admin.subscribers.issue')}</th><th>${t('admin.subscribers.list')}</th><th>${t('admin.subscribers.result')}</th></tr></thead><tbody>
${deliveries.map((d) => html`<tr><td>${campaignLink(d.campaign)}<br><small>${when(d.createdAt)}</small></td><td>${d.slug}</td><td>${d.list}</td><td>${badge(resultBadge(d.result), resultLabel(t, d.result))}${d.note ? html`<br><small>${d.note}</small>` : ''}</td></tr>`)}
</tbody></table></div>`
    : html`<p>${t('admin.subscribers.noDeliveries')}</p>`}
</section>

<section class="card"><h2>${t('admin.subscribers.problems')}</h2>
${problems.length || ledgerProblems.length
    ? html`<ul>${problems.map((e) => html`<li>${badge(e.event, t(`admin.subscribers.statuses.${e.event}`))} ${when(e.at)} ${e.via ?? e.source ?? ''} ${e.reason ? html`— ${e.reason}` : ''}</li>`)}
${ledgerProblems.map((d) => html`<li>${badge(resultBadge(d.result), resultLabel(t, d.result))} ${d.slug} (${campaignLink(d.campaign)}) ${d.note ? html`— ${d.note}` : ''}</li>`)}</ul>`
    : html`<p>${t('admin.subscribers.noProblems')}</p>`}
</section>

<section class="card"><h2>${t('admin.subscribers.consent')}</h2>
<div class="scroll"><table class="data"><thead><tr><th>${t('admin.subscribers.when')}</th><th>${t('admin.subscribers.event')}</th><th>${t('admin.subscribers.details')}</th></tr></thead><tbody>
${history.map((e) => html`<tr><td>${when(e.at)}</td><td title="${e.event}">${eventLabel(t, e.event)}</td><td>${[
    e.list ?? e.lists?.join(', '),
    e.status,
    e.lang,
    e.via,
    e.by,
    e.reason,
    e.ip,
    e.formUrl,
    e.messageId,
    e.wording?.version ? `wording ${e.wording.version}` : undefined,
  ].filter(Boolean).join(' · ')}</td></tr>`)}
</tbody></table></div></section>

<section class="card"><h2>${t('admin.subscribers.forget')}</h2><p>${t('admin.subscribers.forgetIntro')}</p>
<div class="actions"><a class="btn danger" href="${action('forget')}">${t('admin.subscribers.forgetStart')}</a></div></section>`;
    return sendPage(reply, subscriber.email, body, { status: shown?.status ?? 200 });
  };

  app.get('/subscribers/:id', async (request, reply) => {
    const q = request.query as Record<string, string | undefined>;
    const t = await labels(request);
    return showSubscriber(request, reply, q.done && /^[a-z]+$/.test(q.done) ? { done: t(`admin.subscribers.done.${q.done}`) } : {});
  });

  /** A form post: runs the change, then back to the page (303), or the page with the error. */
  const act = (path: string, change: (subscriber: SubscriberRecord, body: unknown) => Promise<string>) =>
    app.post(`/subscribers/:id/${path}`, async (request, reply) => {
      try {
        const subscriber = await subscriberOf(request);
        const outcome = await change(subscriber, request.body);
        request.log.info({ subscriber: subscriber.id, action: path }, 'subscriber changed in the console');
        return reply.redirect(`/subscribers/${encodeURIComponent(subscriber.id)}?done=${outcome}`, 303);
      } catch (error) {
        return showSubscriber(request, reply, { error });
      }
    });

  act('profile', async (subscriber, body) => {
    const actor = consoleActor(body);
    const name = checkName(field(body, 'name'));
    if (!name.ok) throw new DepescheError('E_INPUT', name.reason);
    const lang = field(body, 'lang');
    if (!isLang(lang)) throw new DepescheError('E_INPUT', `Language must be one of ${LANGS.join(', ')}.`);
    if (name.value && name.value !== subscriber.name) {
      await store.upsert({ email: subscriber.email, name: name.value });
      // The store logs no name changes of its own (imports make many); an ops change is worth a line.
      await store.redis.rpush(store.keys.key('sub', subscriber.id, 'log'), JSON.stringify(consentEvent('name-changed', { via: 'ops', by: actor.by, reason: actor.reason })));
    }
    if (lang !== subscriber.lang) await store.setLang(subscriber.id, lang, { via: 'ops', actor });
    return 'profile';
  });
  act('leave', async (subscriber, body) => {
    const actor = consoleActor(body);
    const list = field(body, 'list');
    if (!(await store.removeFromList(subscriber.id, list, actor))) throw new DepescheError('E_CONFLICT', `${subscriber.email} is not on "${list}".`);
    return 'left';
  });
  act('unsubscribe', async (subscriber, body) => {
    await store.unsubscribe(subscriber.id, 'admin-console', { actor: consoleActor(body) });
    return 'unsubscribed';
  });
  act('reactivate', async (subscriber, body) => {
    await store.reactivate(subscriber.id, consoleActor(body));
    return 'reactivated';
  });

  const forgetPage = async (request: FastifyRequest, reply: FastifyReply, error?: unknown) => {
    const t = await labels(request);
    const subscriber = await subscriberOf(request);
    const shown = error ? notice(error) : undefined;
    const body = html`<p><a href="/subscribers/${encodeURIComponent(subscriber.id)}">← ${subscriber.email}</a></p>
<h1>${t('admin.subscribers.forget')}</h1>${shown?.html ?? ''}
<div class="notice error">${t('admin.subscribers.forgetWarning', { email: subscriber.email, lists: subscriber.lists.length })}</div>
<form class="card" method="post" data-once action="/subscribers/${encodeURIComponent(subscriber.id)}/forget">
<div class="field"><label>${t('admin.subscribers.forgetConfirm')} <input name="confirm" required autocomplete="off" placeholder="${subscriber.email}"></label></div>
<div class="field"><label>${t('admin.subscribers.reason')} <input name="reason" required minlength="3" maxlength="500"></label></div>
<div class="actions"><button class="btn danger" type="submit">${t('admin.subscribers.forgetNow')}</button> <a class="btn" href="/subscribers/${encodeURIComponent(subscriber.id)}">${t('admin.subscribers.cancel')}</a></div>
</form>`;
    return sendPage(reply, t('admin.subscribers.forget'), body, { status: shown?.status ?? 200 });
  };
  app.get('/subscribers/:id/forget', async (request, reply) => {
    try {
      return await forgetPage(request, reply);
    } catch (error) {
      return showSubscriber(request, reply, { error });
    }
  });
  app.post('/subscribers/:id/forget', async (request, reply) => {
    try {
      const subscriber = await subscriberOf(request);
      const actor = consoleActor(request.body);
      if (field(request.body, 'confirm').trim().toLowerCase() !== subscriber.email.toLowerCase()) {
        throw new DepescheError('E_INPUT', 'The address typed is not this subscriber’s.', { hint: 'Type their address exactly to confirm the erasure.' });
      }
      await store.forget(subscriber.id, actor);
      request.log.warn({ subscriber: subscriber.id, by: actor.by }, 'subscriber erased in the console');
      return reply.redirect('/subscribers?erased=1', 303);
    } catch (error) {
      return forgetPage(request, reply, error);
    }
  });
}

/** A ledger result in the page's language: the campaign page's words for sent, bounced, failed, skipped, unclear. */
function resultLabel(t: T, result: string): string {
  return t(`admin.campaigns.outcome.${result}`, { defaultValue: result });
}

/** The campaign a delivery belongs to, linked to its page. */
function campaignLink(id: string): Html {
  return html`<a href="/campaigns/${encodeURIComponent(id)}"><code>${id}</code></a>`;
}

function resultBadge(result: string): string {
  return result === 'sent' ? 'active' : result === 'bounced' ? 'bounced' : result === 'failed' || result === 'unclear' ? 'failed' : 'pending';
}

function subscriberTable(t: T, subscribers: SubscriberRecord[]): Html {
  return html`<div class="scroll"><table class="data" id="results"><thead><tr><th>${t('admin.subscribers.address')}</th><th>${t('admin.subscribers.name')}</th><th>${t('admin.subscribers.status')}</th><th>${t('admin.subscribers.lang')}</th><th>${t('admin.subscribers.lists')}</th></tr></thead><tbody>
${subscribers.map((s) => html`<tr><td><a href="/subscribers/${encodeURIComponent(s.id)}">${s.email}</a></td><td>${s.name}</td><td>${badge(s.status, t(`admin.subscribers.statuses.${s.status}`))}</td><td>${s.lang.toUpperCase()}</td><td>${s.lists.join(', ')}</td></tr>`)}
</tbody></table></div>`;
}

/** A consent-log event in the page's language; a name the locales do not know is shown as stored. */
function eventLabel(t: (key: string) => string, event: string): string {
  const key = `admin.subscribers.events.${event}`;
  const label = t(key);
  return label === key ? event : label;
}
