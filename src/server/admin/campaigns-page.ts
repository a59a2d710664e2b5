import type { FastifyInstance } from 'fastify';
import { html } from '../shared/html.ts';
import { page } from './layout.ts';

export interface IssueChoice {
  slug: string;
  title: string;
}

export interface CampaignsPageDeps {
  issues?: (() => Promise<IssueChoice[]>) | undefined;
  defaultList: string;
  /** Why a real send would be refused (development URLs); empty when sends may go out. */
  sendRefusal?: string[] | undefined;
}

// The page is a thin client of the ops API, so the UI can do nothing the API cannot.
const script = `
const $ = (s) => document.querySelector(s);
const esc = (v) => String(v ?? '').replace(/[&<>"']/g, (c) => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'}[c]));
async function api(method, path, body) {
  const res = await fetch(path, { method, headers: body ? {'content-type':'application/json'} : {}, body: body ? JSON.stringify(body) : undefined });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error((data.error && (data.error.message + (data.error.hint ? ' — ' + data.error.hint : ''))) || res.statusText);
  return data;
}
// The API words the plan and the skips (plan.summary, skippedText); the page only shows them.
function counts(c) {
  const n = c.counts || c;
  const line = ['total','sent','failed','bounced','skipped','unclear','remaining'].filter((k) => typeof n[k] === 'number')
    .map((k) => k === 'skipped' && c.skippedText ? c.skippedText : k + ' ' + n[k]).join(' · ');
  return (c.plan ? 'editions: ' + c.plan.summary + ' — ' : '') + line;
}
// What each state allows; the API refuses the rest anyway.
const actions = { scheduled: ['pause', 'update', 'cancel'], sending: ['pause', 'cancel'], paused: ['resume', 'update', 'cancel'] };
const when = (c) => c.state === 'scheduled' ? ' for ' + new Date(c.at).toLocaleString() + (c.zone ? ' (' + c.zone + ')' : '') : '';
async function refresh() {
  try {
    const { campaigns } = await api('GET', '/api/campaigns');
    $('#rows').innerHTML = campaigns.length ? campaigns.map((c) => {
      const id = esc(c.id);
      const state = esc(c.state || c.status || '');
      return '<tr><td><code>' + id + '</code></td><td>' + esc(c.slug) + '</td><td>' + esc(c.list) + '</td><td>' + state + esc(when(c)) +
        (c.warning ? '<br><span class="fail">' + esc(c.warning) + '</span>' : '') +
        '</td><td>' + esc(counts(c)) + '</td><td>' +
        (actions[c.state] || []).map((v) => '<button data-id="' + id + '" data-verb="' + v + '">' + v + '</button>').join(' ') +
        (c.unclear ? ' <a href="/api/campaigns/' + id + '/unclear">' + c.unclear + ' unclear</a> <button data-id="' + id + '" data-verb="resend-unclear">resend unclear</button>' : '') +
        (c.reason ? ' <span class="muted">' + esc(c.reason) + '</span>' : '') + '</td></tr>';
    }).join('') : '<tr><td colspan="6" class="empty">No campaigns yet.</td></tr>';
    $('#error').textContent = '';
  } catch (e) { $('#error').textContent = e.message; }
  try {
    const { lists } = await api('GET', '/api/lists');
    $('#lists').innerHTML = lists.map((l) => '<tr><td>' + esc(l.name) + '</td><td class="num">' + esc(l.total) + '</td><td>' +
      esc(Object.entries(l.byStatus || {}).filter(([, n]) => n).map(([k, n]) => k + ' ' + n).join(' · ')) + '</td><td>' +
      esc(Object.entries(l.activeByLang || {}).map(([k, n]) => k.toUpperCase() + ' ' + n).join(' · ')) + '</td></tr>').join('') ||
      '<tr><td colspan="4" class="empty">No lists yet.</td></tr>';
  } catch (e) { $('#lists').innerHTML = '<tr><td colspan="4" class="fail">' + esc(e.message) + '</td></tr>'; }
}
$('#rows').addEventListener('click', async (ev) => {
  const b = ev.target.closest('button'); if (!b) return;
  if (b.dataset.verb === 'cancel' && !confirm('Cancel this campaign? Recipients not yet sent to will get nothing.')) return;
  if (b.dataset.verb === 'resend-unclear' && !confirm('Send again to every unclear recipient? Some of them may already have the mail.')) return;
  if (b.dataset.verb === 'update' && !confirm("Replace this campaign's editions with the issue files as they are now? Readers sent to already keep the earlier text.")) return;
  b.disabled = true;
  try {
    const result = await api('POST', '/api/campaigns/' + encodeURIComponent(b.dataset.id) + '/' + b.dataset.verb);
    if (b.dataset.verb === 'update') $('#result').textContent = JSON.stringify(result, null, 2);
    $('#error').textContent = '';
  } catch (e) { $('#error').textContent = e.message; }
  refresh();
});
$('#send').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const body = { slug: f.get('slug'), list: f.get('list') };
  if (f.get('at')) body.at = new Date(f.get('at')).toISOString();
  if (f.get('mode') === 'again') body.again = true;
  if (f.get('mode') === 'rest') body.rest = true;
  if (ev.submitter && ev.submitter.name === 'dry') body.dryRun = true;
  // One request at a time: a double-click must not post twice (the server would refuse
  // the second with 409 anyway, naming the campaign the first one made).
  const buttons = ev.target.querySelectorAll('button');
  buttons.forEach((b) => { b.disabled = true; });
  $('#send').setAttribute('aria-busy', 'true');
  try {
    const result = await api('POST', '/api/campaigns', body);
    $('#result').textContent = (result.plan ? 'editions: ' + result.plan.summary + '\\n' : '') + JSON.stringify(result, null, 2);
    $('#error').textContent = '';
  } catch (e) { $('#error').textContent = e.message; }
  finally {
    buttons.forEach((b) => { b.disabled = b.dataset.refused === 'true'; });
    $('#send').removeAttribute('aria-busy');
  }
  refresh();
});
refresh(); setInterval(refresh, 2000);
`;

export function campaignsPage(app: FastifyInstance, deps: CampaignsPageDeps): void {
  app.get('/campaigns', async (_request, reply) => {
    const issues = deps.issues ? await deps.issues().catch(() => []) : [];
    const slugField = issues.length
      ? html`<select name="slug" required>${issues.map((i) => html`<option value="${i.slug}">${i.slug} — ${i.title}</option>`)}</select>`
      : html`<input name="slug" required placeholder="issue slug">`;
    const refusal = deps.sendRefusal ?? [];
    const refused = refusal.length > 0;
    const body = html`<h1>Campaigns</h1>
${refused ? html`<p class="fail" id="refusal">Sending is refused here: ${refusal.join('; ')}. Set PUBLIC_URL and MAIL_FROM for production (or ALLOW_DEV_URLS=true for a test installation). Dry runs still work.</p>` : ''}
<form id="send"><fieldset><legend>Send an issue</legend>
<label>Issue ${slugField}</label> <label>List <input name="list" required value="${deps.defaultList}" size="12"></label>
<label>At <input type="datetime-local" name="at" title="Leave empty to send now; read in this browser's time zone"></label>
<label><input type="radio" name="mode" value="" checked> first send</label>
<label><input type="radio" name="mode" value="again"> again to everyone</label>
<label><input type="radio" name="mode" value="rest"> only the rest</label>
<button type="submit" name="send" data-refused="${refused ? 'true' : 'false'}"${refused ? html` disabled title="${refusal.join('; ')}"` : ''}>Send</button> <button type="submit" name="dry" data-refused="false">Dry run</button></fieldset></form>
<p id="error" class="fail"></p><pre id="result" class="muted"></pre>
<table><thead><tr><th>Id</th><th>Issue</th><th>List</th><th>State</th><th>Counts</th><th></th></tr></thead><tbody id="rows"></tbody></table>
<h2>Lists</h2>
<table><thead><tr><th>List</th><th>Members</th><th>By status</th><th>Active by language</th></tr></thead><tbody id="lists"></tbody></table>`;
    return reply.type('text/html; charset=utf-8').send(page('Campaigns', body, { script }));
  });
}
