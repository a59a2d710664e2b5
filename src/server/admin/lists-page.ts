import { PassThrough } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { LANGS } from '../../core/lang.ts';
import { DepescheError } from '../../errors.ts';
import { exportCsv } from '../../subscribers/export.ts';
import { ListAdmin, type ListOverview } from '../../subscribers/list-admin.ts';
import type { RedisSubscriberStore } from '../../subscribers/redis-store.ts';
import { SUBSCRIBER_STATUSES, type SubscriberStatus } from '../../subscribers/types.ts';
import { html, type Html } from '../shared/html.ts';
import { badge, consoleActor, done, field, labels, notice, sendPage, type T } from './console-kit.ts';

/**
 * The console's list pages, server-rendered, no JavaScript needed:
 *
 *   GET  /lists                     every list: counts by status and language; create one
 *   POST /lists                     create
 *   GET  /lists/:name               one list: rename (title), describe, visibility, export, delete
 *   POST /lists/:name/title|description|visibility
 *   GET  /lists/:name/delete        the confirmation, naming the member count; POST deletes
 *   GET  /lists/:name/export.csv    the list as CSV (formula-safe, imports back the same)
 */
export function listsPages(app: FastifyInstance, deps: { store: RedisSubscriberStore; defaultList?: string | undefined }): void {
  const admin = new ListAdmin(deps.store, { defaultList: deps.defaultList });

  const listOf = async (request: FastifyRequest) => admin.get((request.params as { name: string }).name);

  const showLists = async (request: FastifyRequest, reply: FastifyReply, error?: unknown) => {
    const t = await labels(request);
    const shown = error ? notice(error) : undefined;
    const lists = await admin.overview();
    const q = request.query as Record<string, string | undefined>;
    const body = html`<h1>${t('admin.lists.title')}</h1>
${shown?.html ?? (q.deleted ? done(t('admin.lists.deleted', { name: q.deleted, count: q.count ?? '0' })) : '')}
${lists.length
    ? html`<div class="scroll"><table class="data" id="lists"><thead><tr><th>${t('admin.lists.name')}</th><th>${t('admin.lists.visibility')}</th><th>${t('admin.lists.members')}</th><th>${t('admin.lists.byStatus')}</th><th>${t('admin.lists.activeByLang')}</th></tr></thead><tbody>
${lists.map((l) => html`<tr data-list="${l.name}"><td><a href="/lists/${encodeURIComponent(l.name)}">${l.title ?? l.name}</a>${l.title ? html` <code>${l.name}</code>` : ''}${l.description ? html`<br><small>${l.description}</small>` : ''}</td>
<td>${visibilityBadge(t, l)}</td><td>${l.total}</td><td>${statusCounts(t, l)}</td><td>${langCounts(l)}</td></tr>`)}
</tbody></table></div>`
    : html`<p>${t('admin.lists.none')}</p>`}
<section class="card"><h2>${t('admin.lists.create')}</h2>
<form method="post" data-once action="/lists">
<div class="field"><label>${t('admin.lists.name')} <input name="name" required pattern="[A-Za-z0-9_.\\-]{1,64}" maxlength="64" value="${field(request.body, 'name')}"></label> <small>${t('admin.lists.nameHint')}</small></div>
<div class="field"><label>${t('admin.lists.listTitle')} <input name="title" maxlength="100" value="${field(request.body, 'title')}"></label></div>
<div class="field"><label>${t('admin.lists.description')} <input name="description" maxlength="500" value="${field(request.body, 'description')}"></label></div>
<div class="field"><label>${t('admin.lists.visibility')} <select name="visibility"><option value="private">${t('admin.lists.private')}</option><option value="public">${t('admin.lists.public')}</option></select></label></div>
<div class="field"><label>${t('admin.lists.reason')} <input name="reason" required minlength="3" maxlength="500"></label></div>
<div class="actions"><button class="btn primary" type="submit">${t('admin.lists.createButton')}</button></div>
</form></section>`;
    return sendPage(reply, t('admin.lists.title'), body, { status: shown?.status ?? 200 });
  };

  app.get('/lists', (request, reply) => showLists(request, reply));
  app.post('/lists', async (request, reply) => {
    try {
      const body = request.body;
      const visibility = field(body, 'visibility') === 'public' ? 'public' : 'private';
      const name = field(body, 'name').trim();
      await admin.create(name, consoleActor(body), { visibility, title: field(body, 'title').trim() || undefined, description: field(body, 'description').trim() || undefined });
      return reply.redirect(`/lists/${encodeURIComponent(name)}?done=created`, 303);
    } catch (error) {
      return showLists(request, reply, error);
    }
  });

  const showList = async (request: FastifyRequest, reply: FastifyReply, error?: unknown) => {
    const t = await labels(request);
    let list: ListOverview;
    try {
      list = await listOf(request);
    } catch (failure) {
      const shown = notice(failure);
      return sendPage(reply, t('admin.lists.title'), html`<p><a href="/lists">← ${t('admin.lists.title')}</a></p>${shown.html}`, { status: shown.status });
    }
    const shown = error ? notice(error) : undefined;
    const q = request.query as Record<string, string | undefined>;
    const path = (rest: string) => `/lists/${encodeURIComponent(list.name)}/${rest}`;
    const reason = html`<div class="field"><label>${t('admin.lists.reason')} <input name="reason" required minlength="3" maxlength="500"></label></div>`;
    const other = list.visibility === 'public' ? 'private' : 'public';
    const body = html`<p><a href="/lists">← ${t('admin.lists.title')}</a></p>
<h1>${list.title ?? list.name}</h1>
${shown?.html ?? (q.done && /^[a-z]+$/.test(q.done) ? done(t(`admin.lists.done.${q.done}`)) : '')}
<dl class="facts">
<dt>${t('admin.lists.name')}</dt><dd><code>${list.name}</code> <small>${t('admin.lists.nameStays')}</small></dd>
<dt>${t('admin.lists.visibility')}</dt><dd id="visibility">${visibilityBadge(t, list)}</dd>
<dt>${t('admin.lists.description')}</dt><dd>${list.description ?? '—'}</dd>
<dt>${t('admin.lists.members')}</dt><dd>${list.total} · ${statusCounts(t, list)}</dd>
<dt>${t('admin.lists.activeByLang')}</dt><dd>${langCounts(list)}</dd>
</dl>
<div class="actions"><a class="btn" href="/subscribers?list=${encodeURIComponent(list.name)}">${t('admin.lists.showMembers')}</a>
<a class="btn" href="${path('export.csv')}" download>${t('admin.lists.export')}</a>
<a class="btn" href="${path('export.csv')}?status=active" download>${t('admin.lists.exportActive')}</a></div>

<section class="card"><h2>${t('admin.lists.visibility')}</h2><p>${t('admin.lists.visibilityHint')}</p>
<form method="post" data-once action="${path('visibility')}"><input type="hidden" name="visibility" value="${other}">${reason}
<div class="actions"><button class="btn" type="submit" name="make" value="${other}">${t(other === 'public' ? 'admin.lists.makePublic' : 'admin.lists.makePrivate')}</button></div></form></section>

<section class="card"><h2>${t('admin.lists.rename')}</h2><p>${t('admin.lists.renameHint')}</p>
<form method="post" data-once action="${path('title')}">
<div class="field"><label>${t('admin.lists.listTitle')} <input name="title" required maxlength="100" value="${list.title ?? list.name}"></label></div>${reason}
<div class="actions"><button class="btn" type="submit">${t('admin.lists.renameButton')}</button></div></form></section>

<section class="card"><h2>${t('admin.lists.describe')}</h2>
<form method="post" data-once action="${path('description')}">
<div class="field"><label>${t('admin.lists.description')} <input name="description" maxlength="500" value="${list.description ?? ''}"></label></div>${reason}
<div class="actions"><button class="btn" type="submit">${t('admin.lists.save')}</button></div></form></section>

<section class="card"><h2>${t('admin.lists.delete')}</h2><p>${t('admin.lists.deleteIntro')}</p>
<div class="actions"><a class="btn danger" href="${path('delete')}">${t('admin.lists.deleteStart')}</a></div></section>`;
    return sendPage(reply, list.title ?? list.name, body, { status: shown?.status ?? 200 });
  };

  app.get('/lists/:name', (request, reply) => showList(request, reply));

  const act = (path: string, change: (list: ListOverview, body: unknown) => Promise<string>) =>
    app.post(`/lists/:name/${path}`, async (request, reply) => {
      try {
        const list = await listOf(request);
        const outcome = await change(list, request.body);
        request.log.info({ list: list.name, action: path }, 'list changed in the console');
        return reply.redirect(`/lists/${encodeURIComponent(list.name)}?done=${outcome}`, 303);
      } catch (error) {
        return showList(request, reply, error);
      }
    });
  act('visibility', async (list, body) => {
    const visibility = field(body, 'visibility');
    if (visibility !== 'public' && visibility !== 'private') throw new DepescheError('E_INPUT', 'Visibility must be public or private.');
    await deps.store.setVisibility(list.name, visibility, consoleActor(body));
    return visibility;
  });
  act('title', async (list, body) => {
    await admin.rename(list.name, field(body, 'title'), consoleActor(body));
    return 'renamed';
  });
  act('description', async (list, body) => {
    await admin.describe(list.name, field(body, 'description'), consoleActor(body));
    return 'described';
  });

  const deletePage = async (request: FastifyRequest, reply: FastifyReply, error?: unknown) => {
    const t = await labels(request);
    const list = await listOf(request);
    const live = await admin.liveCampaigns(list.name);
    const shown = error ? notice(error) : undefined;
    const body = html`<p><a href="/lists/${encodeURIComponent(list.name)}">← ${list.title ?? list.name}</a></p>
<h1>${t('admin.lists.delete')}: ${list.name}</h1>${shown?.html ?? ''}
${live.length ? html`<div class="notice error">${t('admin.lists.deleteLive', { campaigns: live.join(', ') })}</div>` : ''}
<div class="notice error" id="delete-warning">${t('admin.lists.deleteWarning', { name: list.name, count: list.total })}</div>
<form class="card" method="post" data-once action="/lists/${encodeURIComponent(list.name)}/delete">
<div class="field"><label>${t('admin.lists.deleteConfirm', { count: list.total })} <input name="confirm" required inputmode="numeric" autocomplete="off"></label></div>
<div class="field"><label>${t('admin.lists.reason')} <input name="reason" required minlength="3" maxlength="500"></label></div>
<div class="actions"><button class="btn danger" type="submit"${live.length ? html` disabled` : ''}>${t('admin.lists.deleteNow', { count: list.total })}</button> <a class="btn" href="/lists/${encodeURIComponent(list.name)}">${t('admin.lists.cancel')}</a></div>
</form>`;
    return sendPage(reply, t('admin.lists.delete'), body, { status: shown?.status ?? 200 });
  };
  app.get('/lists/:name/delete', async (request, reply) => {
    try {
      return await deletePage(request, reply);
    } catch (error) {
      return showList(request, reply, error);
    }
  });
  app.post('/lists/:name/delete', async (request, reply) => {
    try {
      const { name } = request.params as { name: string };
      const confirm = field(request.body, 'confirm').trim();
      if (!/^\d+$/.test(confirm)) throw new DepescheError('E_INPUT', 'Type the number of members to confirm.');
      const actor = consoleActor(request.body);
      const removed = await admin.delete(name, actor, Number(confirm));
      request.log.warn({ list: name, removed, by: actor.by }, 'list deleted in the console');
      return reply.redirect(`/lists?deleted=${encodeURIComponent(name)}&count=${removed}`, 303);
    } catch (error) {
      return deletePage(request, reply, error);
    }
  });

  app.get('/lists/:name/export.csv', async (request, reply) => {
    const list = await listOf(request);
    const status = (request.query as { status?: string }).status;
    const statuses = status
      ? status.split(',').filter((s): s is SubscriberStatus => (SUBSCRIBER_STATUSES as readonly string[]).includes(s))
      : undefined;
    const out = new PassThrough();
    // Streams page by page: a million members never sit in memory.
    exportCsv(deps.store, list.name, out, statuses ? { statuses } : {}).catch((error: unknown) => {
      request.log.error({ err: error, list: list.name }, 'export failed');
      out.destroy(error as Error);
    });
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${list.name}.csv"`)
      .header('cache-control', 'no-store')
      .send(out);
  });
}

function visibilityBadge(t: T, list: ListOverview): Html {
  return badge(list.visibility === 'public' ? 'active' : 'pending', t(`admin.lists.${list.visibility}`));
}

function statusCounts(t: T, list: ListOverview): Html {
  const shown = SUBSCRIBER_STATUSES.filter((s) => list.byStatus[s] > 0);
  return html`${shown.map((s) => html`${badge(s, `${t(`admin.subscribers.statuses.${s}`)} ${list.byStatus[s]}`)} `)}`;
}

function langCounts(list: ListOverview): string {
  return LANGS.map((l) => `${l.toUpperCase()} ${list.activeByLang[l]}`).join(' · ');
}
