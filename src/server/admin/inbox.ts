import type { FastifyInstance, FastifyReply } from 'fastify';
import type { DevInbox, InboxMail, InboxQuery, MailKind } from '../../transport/dev-inbox.ts';
import { html, type Html } from '../shared/html.ts';
import { page } from './layout.ts';

/**
 * The dev inbox pages: a list that updates live, with search, filters and delete, and one
 * page per mail with its header checks, the HTML in a sandboxed frame, the text part, the
 * decoded headers and the raw source. Everything works without JavaScript (forms);
 * the script only reloads the list when mail arrives. The JSON forms under /api/inbox
 * serve tests and scripts.
 */

const KINDS: Record<MailKind, string> = { campaign: 'Campaign', proof: 'Proof', transactional: 'Transactional' };

interface QueryString {
  q?: string;
  kind?: string;
  lang?: string;
  checks?: string;
}

function queryOf(raw: QueryString): InboxQuery {
  const text = (value: unknown) => (typeof value === 'string' && value.trim() ? value.trim().slice(0, 200) : undefined);
  const kind = text(raw.kind);
  const checks = text(raw.checks);
  return {
    q: text(raw.q),
    kind: kind && kind in KINDS ? (kind as MailKind) : undefined,
    lang: text(raw.lang),
    checks: checks === 'fail' || checks === 'warn' ? checks : undefined,
  };
}

const failed = (m: InboxMail) => m.checks.filter((c) => c.status === 'fail').length;

function summary(m: InboxMail) {
  return {
    id: m.id,
    receivedAt: m.receivedAt,
    subject: m.subject,
    from: m.from,
    to: m.to,
    envelope: m.envelope,
    size: m.size,
    kind: m.kind,
    contentLanguage: m.contentLanguage,
    failedChecks: failed(m),
  };
}

const notFound = (reply: FastifyReply, id: string) => reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: `No mail ${id} in the dev inbox.` } });

function checkBadge(m: InboxMail): Html {
  const fails = failed(m);
  const warns = m.checks.filter((c) => c.status === 'warn').length;
  if (fails) return html`<td class="fail">✗ ${fails} header check${fails > 1 ? 's' : ''} failed</td>`;
  return html`<td class="pass">✓ headers${warns ? html` <span class="warn">(${warns} warning${warns > 1 ? 's' : ''})</span>` : ''}</td>`;
}

function filters(query: InboxQuery, langs: string[]): Html {
  const option = (value: string, label: string, current: string | undefined) => html`<option value="${value}"${current === value ? html` selected` : ''}>${label}</option>`;
  return html`<form class="filters" method="get" action="/inbox" role="search">
<input type="search" name="q" value="${query.q ?? ''}" placeholder="Search subject, address or text" aria-label="Search">
<select name="kind" aria-label="Kind">${option('', 'All kinds', query.kind ?? '')}${Object.entries(KINDS).map(([k, label]) => option(k, label, query.kind))}</select>
<select name="lang" aria-label="Language">${option('', 'All languages', query.lang ?? '')}${langs.map((l) => option(l, l.toUpperCase(), query.lang))}</select>
<select name="checks" aria-label="Checks">${option('', 'Any checks', query.checks ?? '')}${option('fail', 'Failing checks', query.checks)}${option('warn', 'Failing or warnings', query.checks)}</select>
<button type="submit">Filter</button>${query.q || query.kind || query.lang || query.checks ? html` <a href="/inbox">Reset</a>` : ''}
</form>`;
}

export function inboxRoutes(app: FastifyInstance, inbox: DevInbox): void {
  app.get<{ Querystring: QueryString }>('/api/inbox', async (request) => {
    const mails = inbox.list(queryOf(request.query));
    return { mails: mails.map(summary), total: inbox.size };
  });
  app.delete('/api/inbox', async () => {
    const deleted = inbox.size;
    await inbox.clear();
    return { ok: true, deleted };
  });
  app.get<{ Params: { id: string } }>('/api/inbox/:id', async (request, reply) => {
    const mail = await inbox.message(request.params.id);
    if (!mail) return notFound(reply, request.params.id);
    return { ...summary(mail), headers: mail.headers, checks: mail.checks, text: mail.text, html: mail.html };
  });
  app.delete<{ Params: { id: string } }>('/api/inbox/:id', async (request, reply) => {
    if (!(await inbox.delete(request.params.id))) return notFound(reply, request.params.id);
    return { ok: true };
  });

  // The same deletes as plain form posts, so the page needs no script for them.
  app.post('/inbox/delete-all', async (_request, reply) => {
    await inbox.clear();
    return reply.redirect('/inbox', 303);
  });
  app.post<{ Params: { id: string } }>('/inbox/:id/delete', async (request, reply) => {
    await inbox.delete(request.params.id);
    return reply.redirect('/inbox', 303);
  });

  app.get<{ Querystring: QueryString }>('/inbox', async (request, reply) => {
    const query = queryOf(request.query);
    const all = inbox.list();
    const mails = inbox.list(query);
    const langs = [...new Set(all.map((m) => m.contentLanguage).filter((l): l is string => Boolean(l)))].sort();
    const rows = mails.map(
      (m) => html`<tr><td class="muted">${new Date(m.receivedAt).toLocaleString('en-GB', { dateStyle: 'short', timeStyle: 'medium' })}</td><td>${m.to}</td>
<td><a href="/inbox/${encodeURIComponent(m.id)}">${m.subject || '(no subject)'}</a></td><td>${KINDS[m.kind]}</td><td>${m.contentLanguage ?? ''}</td>
<td class="num">${(m.size / 1024).toFixed(1)} KB</td>${checkBadge(m)}
<td><form method="post" action="/inbox/${encodeURIComponent(m.id)}/delete"><button type="submit" class="link" aria-label="Delete ${m.subject}">Delete</button></form></td></tr>`,
    );
    const shown = mails.length === all.length ? html`${all.length} mail${all.length === 1 ? '' : 's'}` : html`${mails.length} of ${all.length} mails`;
    const body = html`<h1>Dev inbox</h1>
<p class="muted">Every mail sent through <code>${inbox.url}</code> lands here and is kept across restarts (the newest 500; nothing is relayed).</p>
${filters(query, langs)}
<p>${shown}${all.length ? html` · <form class="inline" method="post" action="/inbox/delete-all"><button type="submit" id="clear">Delete all</button></form>` : ''}</p>
${
  mails.length
    ? html`<div class="scroll"><table><thead><tr><th>Received</th><th>To</th><th>Subject</th><th>Kind</th><th>Lang</th><th>Size</th><th>Checks</th><th></th></tr></thead><tbody>${rows}</tbody></table></div>`
    : all.length
      ? html`<div class="empty">No mail matches. <a href="/inbox">Show all</a></div>`
      : html`<div class="empty">No mail yet. Send one: <code>depesche send &lt;slug&gt; --list sample</code>, or use <a href="/campaigns">Campaigns</a>.</div>`
}`;
    // Reload when mail arrives or goes; cheap and keeps the page free of a client framework.
    // The stream opens after the page rendered, so its first event names the newest mail: a
    // mail that came in between is not missed. Bursts (a campaign) reload once.
    const newest = JSON.stringify(all[0]?.id ?? null);
    const script = `const shown = ${newest}; let timer;
const reload = () => { clearTimeout(timer); timer = setTimeout(() => location.reload(), 250); };
const events = new EventSource('/inbox/events');
events.addEventListener('hello', (e) => { if (JSON.parse(e.data).newest !== shown) reload(); });
events.addEventListener('mail', reload);
events.addEventListener('removed', reload);
document.getElementById('clear')?.closest('form').addEventListener('submit', (e) => { if (!confirm('Delete all ${all.length} mails from the dev inbox?')) e.preventDefault(); });`;
    return reply.type('text/html; charset=utf-8').send(page('Inbox', body, { script, active: 'inbox' }));
  });

  app.get('/inbox/events', (request, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    reply.raw.write(`event: hello\ndata: ${JSON.stringify({ newest: inbox.list()[0]?.id ?? null })}\n\n`);
    const onMail = (mail: InboxMail) => reply.raw.write(`event: mail\ndata: ${JSON.stringify({ id: mail.id })}\n\n`);
    const onRemoved = (ids: string[]) => reply.raw.write(`event: removed\ndata: ${JSON.stringify({ ids })}\n\n`);
    inbox.events.on('mail', onMail);
    inbox.events.on('removed', onRemoved);
    const ping = setInterval(() => reply.raw.write(': ping\n\n'), 25_000);
    request.raw.on('close', () => {
      clearInterval(ping);
      inbox.events.off('mail', onMail);
      inbox.events.off('removed', onRemoved);
    });
  });

  app.get<{ Params: { id: string } }>('/inbox/:id', async (request, reply) => {
    const mail = await inbox.message(request.params.id);
    if (!mail) return reply.code(404).type('text/html; charset=utf-8').send(page('Not found', html`<h1>Not in the inbox</h1><p>It was deleted, or dropped out: the inbox keeps the newest 500 mails. <a href="/inbox">Back</a></p>`));
    const id = encodeURIComponent(mail.id);
    const checks = mail.checks.map(
      (c) => html`<tr><td class="${c.status}">${c.status === 'pass' ? '✓' : c.status === 'warn' ? '!' : '✗'} ${c.status}</td><th>${c.name}</th><td><code>${c.detail}</code></td></tr>`,
    );
    // Decoded as a mail program shows them; the encoded form below where it differs.
    const headers = mail.headers.map(
      (h) => html`<tr><th>${h.key}</th><td><code>${h.value}</code>${h.raw ? html`<br><code class="muted" title="as sent">${h.raw}</code>` : ''}</td></tr>`,
    );
    const kindNote =
      mail.kind === 'transactional'
        ? 'Transactional mail (sent to one person because of what they did): no List headers needed.'
        : mail.kind === 'proof'
          ? 'Proof of a campaign mail: checked like one.'
          : 'Campaign mail: bulk mail needs one-click unsubscribe and a List-Id.';
    const body = html`<p><a href="/inbox">← Inbox</a></p>
<h1>${mail.subject || '(no subject)'}</h1>
<p><b>From</b> ${mail.from} · <b>To</b> ${mail.to} · <span class="muted">${mail.receivedAt} · ${(mail.size / 1024).toFixed(1)} KB · envelope ${mail.envelope.from} → ${mail.envelope.to.join(', ')}</span></p>
<nav class="tabs"><a href="#checks">Checks</a><a href="#html">HTML</a><a href="#text">Text</a><a href="#headers">Headers</a><a href="/inbox/${id}/raw">Raw</a>
<form class="inline" method="post" action="/inbox/${id}/delete"><button type="submit">Delete</button></form></nav>
<h2 id="checks">Header checks</h2><p class="muted">${kindNote}</p><div class="scroll"><table>${checks}</table></div>
<h2 id="html">HTML</h2>
${mail.html !== null ? html`<iframe sandbox title="HTML part" src="/inbox/${id}/html"></iframe>` : html`<p class="fail">No HTML part.</p>`}
<h2 id="text">Text</h2><pre>${mail.text ?? '(no text part)'}</pre>
<h2 id="headers">Headers</h2><div class="scroll"><table>${headers}</table></div>`;
    return reply.type('text/html; charset=utf-8').send(page(mail.subject || 'Mail', body, { active: 'inbox' }));
  });

  app.get<{ Params: { id: string } }>('/inbox/:id/html', async (request, reply) => {
    const mail = await inbox.message(request.params.id);
    if (!mail || mail.html === null) return reply.code(404).send('not found');
    // Sandboxed twice: the iframe attribute and this header, so opening the URL directly
    // also runs no script from a mail and cannot touch the admin origin.
    return reply
      .header('content-security-policy', "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline' *; font-src * data:")
      .type('text/html; charset=utf-8')
      .send(mail.html);
  });

  app.get<{ Params: { id: string } }>('/inbox/:id/raw', async (request, reply) => {
    const mail = await inbox.message(request.params.id);
    if (!mail) return reply.code(404).send('not found');
    return reply.type('text/plain; charset=utf-8').send(mail.raw);
  });
}
