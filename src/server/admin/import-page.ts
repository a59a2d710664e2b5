import { randomBytes } from 'node:crypto';
import { Writable, type Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { LANGS, isLang } from '../../core/lang.ts';
import { DepescheError, isDepescheError } from '../../errors.ts';
import { httpStatusOf } from '../../core/http-status.ts';
import { importCsv, type Rejection } from '../../subscribers/import.ts';
import type { RedisSubscriberStore } from '../../subscribers/redis-store.ts';
import { SUBSCRIBER_STATUSES, type SubscriberStatus } from '../../subscribers/types.ts';
import { html } from '../shared/html.ts';
import { labels, sendPage } from './console-kit.ts';

/**
 * The console's import: the browser sends the file as the request body (no multipart),
 * and the server feeds that stream straight into the CLI's importer (import.ts), which
 * reads it a batch at a time: a file of any size never sits in memory, and since the
 * importer pulls only as fast as Redis takes rows, the upload's progress is the import's.
 *
 *   GET  /import                       the page
 *   POST /import/upload?list=&lang=&status=&encoding=&file=   body: the CSV
 *        → { summary, rejected (the first 200), report: id of the full report, or null }
 *   GET  /import/reports/:id.csv       every rejected row: row number, reason, values
 *
 * The report is the importer's own CSV (spreadsheet-safe), kept in Redis for a day, up to
 * {@link REPORT_MAX} bytes.
 */

const REPORT_TTL_S = 86_400;
const REPORT_MAX = 20 * 1024 * 1024;
const SHOWN = 200;

/** Appends what it is given to a Redis string, 64 KB at a time, with a lifetime, up to a size. */
function redisReport(store: RedisSubscriberStore, key: string): Writable & { truncated: boolean } {
  let size = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (pendingBytes === 0) return;
    const data = Buffer.concat(pending);
    pending = [];
    pendingBytes = 0;
    await store.redis.multi().append(key, data).expire(key, REPORT_TTL_S).exec();
  };
  const sink = new Writable({
    async write(chunk: Buffer, _encoding, callback) {
      try {
        if (size + chunk.length > REPORT_MAX) {
          sink.truncated = true;
          return callback();
        }
        size += chunk.length;
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= 64 * 1024) await flush();
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
    async final(callback) {
      try {
        await flush();
        callback();
      } catch (error) {
        callback(error as Error);
      }
    },
  }) as Writable & { truncated: boolean };
  sink.truncated = false;
  return sink;
}

export function importPages(app: FastifyInstance, deps: { store: RedisSubscriberStore }): void {
  const { store } = deps;
  const reportKey = (id: string) => store.keys.key('import-report', id);

  app.get('/import', async (request, reply) => {
    const t = await labels(request);
    const lists = (await store.lists()).map((l) => l.name);
    const list = (request.query as { list?: string }).list ?? '';
    const body = html`<h1>${t('admin.import.title')}</h1>
<p>${t('admin.import.intro')}</p>
<form id="import" class="card">
<div class="field"><label>${t('admin.import.file')} <input type="file" name="file" accept=".csv,.txt,text/csv" required></label></div>
<div class="field"><label>${t('admin.import.list')} <input name="list" required pattern="[A-Za-z0-9_.\\-]{1,64}" list="known-lists" value="${list}"></label>
<datalist id="known-lists">${lists.map((l) => html`<option value="${l}">`)}</datalist></div>
<div class="field"><label>${t('admin.import.lang')} <select name="lang">${LANGS.map((l) => html`<option value="${l}">${l.toUpperCase()}</option>`)}</select></label></div>
<div class="field"><label>${t('admin.import.status')} <select name="status">${SUBSCRIBER_STATUSES.filter((s) => s !== 'complained').map((s) => html`<option value="${s}"${s === 'active' ? html` selected` : ''}>${t(`admin.subscribers.statuses.${s}`)}</option>`)}</select></label> <small>${t('admin.import.statusHint')}</small></div>
<div class="field"><label>${t('admin.import.encoding')} <select name="encoding"><option value="auto">${t('admin.import.auto')}</option><option value="utf-8">UTF-8</option><option value="windows-1252">Windows-1252 (Excel)</option><option value="utf-16le">UTF-16</option></select></label></div>
<div class="actions"><button class="btn primary" type="submit">${t('admin.import.start')}</button></div>
<noscript><div class="notice error">${t('admin.import.noscript')}</div></noscript>
</form>
<div id="progress-box" hidden><div class="progress" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="0"><span style="width:0%"></span></div>
<p id="progress-text"></p></div>
<div id="outcome" aria-live="polite"></div>`;
    const labelsJson = JSON.stringify({
      uploading: t('admin.import.uploading'),
      finishing: t('admin.import.finishing'),
      summary: t('admin.import.summary'),
      rejectedTitle: t('admin.import.rejectedTitle'),
      download: t('admin.import.download'),
      row: t('admin.import.row'),
      reason: t('admin.import.reason'),
      values: t('admin.import.values'),
      more: t('admin.import.more'),
      truncated: t('admin.import.truncated'),
      noRejected: t('admin.import.noRejected'),
      showList: t('admin.import.showList'),
    });
    return sendPage(reply, t('admin.import.title'), body, { script: script(labelsJson) });
  });

  // The body stays a stream: this scope alone hands CSV bodies through unread.
  app.register(async (scope) => {
    scope.addContentTypeParser('*', (_request, payload, done) => done(null, payload));
    scope.post('/import/upload', async (request, reply) => {
      const q = request.query as Record<string, string | undefined>;
      const lang = q.lang ?? 'de';
      const status = q.status ?? 'active';
      if (!isLang(lang)) throw new DepescheError('E_INPUT', `lang must be one of ${LANGS.join(', ')}.`);
      if (!(SUBSCRIBER_STATUSES as readonly string[]).includes(status) || status === 'complained') {
        throw new DepescheError('E_INPUT', 'status must be active, pending, unsubscribed or bounced.');
      }
      const file = (q.file ?? 'upload.csv').replace(/[^\p{L}\p{N} ._-]/gu, '_').slice(0, 100);
      const id = randomBytes(12).toString('base64url');
      const report = redisReport(store, reportKey(id));
      const rejected: Rejection[] = [];
      const input = request.body as Readable;
      try {
        const summary = await importCsv(input, {
          store,
          list: q.list ?? '',
          defaultLang: lang,
          defaultStatus: status as SubscriberStatus,
          source: `import:${file}`,
          encoding: q.encoding || 'auto',
          report,
          onRejected: (rejection) => {
            if (rejected.length < SHOWN) rejected.push(rejection);
          },
        });
        request.log.info({ list: q.list, file, rows: summary.rows, rejected: summary.rejected }, 'import from the console');
        return { summary, rejected, report: summary.rejected > 0 ? id : null, truncated: report.truncated };
      } catch (error) {
        // The rest of the upload is not wanted; reading it on keeps the answer from waiting.
        input.resume();
        await store.redis.del(reportKey(id));
        if (isDepescheError(error)) return reply.code(httpStatusOf(error.code)).send({ error: { code: error.code, message: error.message, hint: error.hint } });
        throw error;
      }
    });
  });

  app.get('/import/reports/:id.csv', async (request, reply) => {
    const { id } = request.params as { id: string };
    const report = /^[A-Za-z0-9_-]{16}$/.test(id) ? await store.redis.getBuffer(reportKey(id)) : null;
    if (!report) throw new DepescheError('E_NOT_FOUND', 'That report is gone (reports are kept for a day).', { hint: 'Import the file again to get a new one.' });
    return reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="rejected-rows.csv"').header('cache-control', 'no-store').send(report);
  });
}

// XMLHttpRequest rather than fetch: only it reports upload progress. The block keeps its
// names to itself: classic scripts share one global scope, and console.js has its own `L`.
const script = (labelsJson: string) => `{
const L = ${labelsJson.replace(/</g, '\\u003c')};
const $ = (s) => document.querySelector(s);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
const fill = (text, vars) => text.replace(/{{(\\w+)}}/g, (_, k) => vars[k] ?? '');
$('#import').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const form = new FormData(ev.target);
  const file = form.get('file');
  if (!file || !file.size) return;
  const params = new URLSearchParams({ list: form.get('list'), lang: form.get('lang'), status: form.get('status'), encoding: form.get('encoding'), file: file.name });
  const bar = $('.progress'), fillBar = $('.progress span'), text = $('#progress-text');
  $('#progress-box').hidden = false; $('#outcome').innerHTML = '';
  const button = ev.target.querySelector('button'); button.disabled = true;
  const xhr = new XMLHttpRequest();
  xhr.open('POST', '/import/upload?' + params);
  xhr.setRequestHeader('content-type', 'text/csv');
  xhr.setRequestHeader('accept', 'application/json');
  xhr.upload.onprogress = (e) => {
    if (!e.lengthComputable) return;
    const pct = Math.floor((e.loaded / e.total) * 100);
    fillBar.style.width = pct + '%'; bar.setAttribute('aria-valuenow', pct);
    text.textContent = fill(pct < 100 ? L.uploading : L.finishing, { pct, mb: (e.loaded / 1048576).toFixed(1) });
  };
  xhr.onloadend = () => {
    button.disabled = false;
    let data = {};
    try { data = JSON.parse(xhr.responseText); } catch {}
    if (xhr.status !== 200) {
      const e = data.error || { message: xhr.statusText || 'upload failed' };
      $('#outcome').innerHTML = '<div class="notice error" role="alert"><strong>' + esc(e.message) + '</strong> ' + esc(e.hint || '') + '</div>';
      text.textContent = '';
      return;
    }
    fillBar.style.width = '100%'; bar.setAttribute('aria-valuenow', 100); text.textContent = '';
    const s = data.summary;
    let out = '<div class="notice" role="status" id="summary">' + esc(fill(L.summary, { rows: s.rows, created: s.created, updated: s.updated, unchanged: s.unchanged, joined: s.created + s.joined, rejected: s.rejected })) +
      (s.encoding && s.encoding.note ? '<br>' + esc(s.encoding.note) : '') +
      ' <a href="/subscribers?list=' + encodeURIComponent(form.get('list')) + '">' + esc(L.showList) + '</a></div>';
    if (s.rejected > 0) {
      out += '<section class="card"><h2>' + esc(fill(L.rejectedTitle, { count: s.rejected })) + '</h2>' +
        '<div class="actions"><a class="btn" id="report-link" download href="/import/reports/' + encodeURIComponent(data.report) + '.csv">' + esc(L.download) + '</a></div>' +
        (data.truncated ? '<p class="notice error">' + esc(L.truncated) + '</p>' : '') +
        '<div class="scroll"><table class="data" id="rejected"><thead><tr><th>' + esc(L.row) + '</th><th>' + esc(L.reason) + '</th><th>' + esc(L.values) + '</th></tr></thead><tbody>' +
        data.rejected.map((r) => '<tr><td>' + r.row + '</td><td>' + esc(r.reason) + '</td><td><code>' + esc(r.values.join(', ')) + '</code></td></tr>').join('') +
        '</tbody></table></div>' + (s.rejected > data.rejected.length ? '<p>' + esc(fill(L.more, { count: s.rejected - data.rejected.length })) + '</p>' : '') + '</section>';
    } else {
      out += '<p>' + esc(L.noRejected) + '</p>';
    }
    $('#outcome').innerHTML = out;
  };
  xhr.send(file);
});
}`;
