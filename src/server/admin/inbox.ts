import type { FastifyInstance } from 'fastify';
import { checkHeaders, type DevInbox, type InboxMail } from '../../transport/dev-inbox.ts';
import { html } from '../shared/html.ts';
import { page } from './layout.ts';

/**
 * The dev inbox pages: a list that updates live, and one page per mail with its header
 * checks, the HTML in a sandboxed frame, the text part, the headers and the raw source.
 * The JSON forms under /api/inbox serve tests and scripts.
 */
export function inboxRoutes(app: FastifyInstance, inbox: DevInbox): void {
  const summary = (m: InboxMail) => ({
    id: m.id,
    receivedAt: m.receivedAt,
    subject: m.subject,
    from: m.from,
    to: m.to,
    envelope: m.envelope,
    size: m.size,
    contentLanguage: m.headers.find((h) => h.key.toLowerCase() === 'content-language')?.value ?? null,
  });

  app.get('/api/inbox', async () => ({ mails: inbox.list().map(summary) }));
  app.delete('/api/inbox', async () => {
    inbox.clear();
    return { ok: true };
  });
  app.get<{ Params: { id: string } }>('/api/inbox/:id', async (request, reply) => {
    const mail = inbox.get(request.params.id);
    if (!mail) return reply.code(404).send({ error: { code: 'E_NOT_FOUND', message: `No mail ${request.params.id} in the dev inbox.` } });
    return { ...summary(mail), headers: mail.headers, checks: checkHeaders(mail), text: mail.text, html: mail.html };
  });

  app.get('/inbox', async (_request, reply) => {
    const mails = inbox.list();
    const rows = mails.map((m) => {
      const checks = checkHeaders(m);
      const failed = checks.filter((c) => c.status === 'fail').length;
      const lang = m.headers.find((h) => h.key.toLowerCase() === 'content-language')?.value ?? '';
      return html`<tr><td class="muted">${new Date(m.receivedAt).toLocaleTimeString('en-GB')}</td><td>${m.to}</td>
<td><a href="/inbox/${encodeURIComponent(m.id)}">${m.subject || '(no subject)'}</a></td><td>${lang}</td>
<td class="num">${(m.size / 1024).toFixed(1)} KB</td><td class="${failed ? 'fail' : 'pass'}">${failed ? `✗ ${failed} header check${failed > 1 ? 's' : ''} failed` : '✓ headers'}</td></tr>`;
    });
    const body = html`<h1>Dev inbox</h1>
<p class="muted">Every mail sent through <code>${inbox.url}</code> lands here (the newest ${mails.length} shown; nothing is relayed).
<button id="clear" type="button">Clear</button></p>
${
  mails.length
    ? html`<table><thead><tr><th>Time</th><th>To</th><th>Subject</th><th>Lang</th><th>Size</th><th>Checks</th></tr></thead><tbody>${rows}</tbody></table>`
    : html`<div class="empty">No mail yet. Send one: <code>depesche send &lt;slug&gt; --list sample</code>, or use <a href="/campaigns">Campaigns</a>.</div>`
}`;
    // Reload when mail arrives; cheap and keeps the page free of a client framework. The
    // stream opens after the page rendered, so its first event names the newest mail: a
    // mail that came in between is not missed. Bursts (a campaign) reload once.
    const newest = JSON.stringify(mails[0]?.id ?? null);
    const script = `const shown = ${newest}; let timer;
const reload = () => { clearTimeout(timer); timer = setTimeout(() => location.reload(), 250); };
const events = new EventSource('/inbox/events');
events.addEventListener('hello', (e) => { if (JSON.parse(e.data).newest !== shown) reload(); });
events.addEventListener('mail', reload);
document.getElementById('clear').onclick = () => fetch('/api/inbox', {method:'DELETE'}).then(() => location.reload());`;
    return reply.type('text/html; charset=utf-8').send(page('Inbox', body, { script }));
  });

  app.get('/inbox/events', (request, reply) => {
    reply.hijack();
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    reply.raw.write(`event: hello\ndata: ${JSON.stringify({ newest: inbox.list()[0]?.id ?? null })}\n\n`);
    const onMail = (mail: InboxMail) => reply.raw.write(`event: mail\ndata: ${JSON.stringify({ id: mail.id })}\n\n`);
    inbox.events.on('mail', onMail);
    const ping = setInterval(() => reply.raw.write(': ping\n\n'), 25_000);
    request.raw.on('close', () => {
      clearInterval(ping);
      inbox.events.off('mail', onMail);
    });
  });

  app.get<{ Params: { id: string } }>('/inbox/:id', async (request, reply) => {
    const mail = inbox.get(request.params.id);
    if (!mail) return reply.code(404).type('text/html; charset=utf-8').send(page('Not found', html`<h1>Not in the inbox</h1><p>It may have dropped out; the inbox keeps the newest mails only. <a href="/inbox">Back</a></p>`));
    const id = encodeURIComponent(mail.id);
    const checks = checkHeaders(mail).map(
      (c) => html`<tr><td class="${c.status}">${c.status === 'pass' ? '✓' : c.status === 'warn' ? '!' : '✗'} ${c.status}</td><th>${c.name}</th><td><code>${c.detail}</code></td></tr>`,
    );
    const headers = mail.headers.map((h) => html`<tr><th>${h.key}</th><td><code>${h.value}</code></td></tr>`);
    const body = html`<p><a href="/inbox">← Inbox</a></p>
<h1>${mail.subject || '(no subject)'}</h1>
<p><b>From</b> ${mail.from} · <b>To</b> ${mail.to} · <span class="muted">${mail.receivedAt} · ${(mail.size / 1024).toFixed(1)} KB · envelope ${mail.envelope.from} → ${mail.envelope.to.join(', ')}</span></p>
<nav class="tabs"><a href="#checks">Checks</a><a href="#html">HTML</a><a href="#text">Text</a><a href="#headers">Headers</a><a href="/inbox/${id}/raw">Raw</a></nav>
<h2 id="checks">Header checks</h2><table>${checks}</table>
<h2 id="html">HTML</h2>
${mail.html !== null ? html`<iframe sandbox title="HTML part" src="/inbox/${id}/html"></iframe>` : html`<p class="fail">No HTML part.</p>`}
<h2 id="text">Text</h2><pre>${mail.text ?? '(no text part)'}</pre>
<h2 id="headers">Headers</h2><table>${headers}</table>`;
    return reply.type('text/html; charset=utf-8').send(page(mail.subject || 'Mail', body));
  });

  app.get<{ Params: { id: string } }>('/inbox/:id/html', async (request, reply) => {
    const mail = inbox.get(request.params.id);
    if (!mail || mail.html === null) return reply.code(404).send('not found');
    // Sandboxed twice: the iframe attribute and this header, so opening the URL directly
    // also runs no script from a mail and cannot touch the admin origin.
    return reply
      .header('content-security-policy', "sandbox; default-src 'none'; img-src * data:; style-src 'unsafe-inline' *; font-src * data:")
      .type('text/html; charset=utf-8')
      .send(mail.html);
  });

  app.get<{ Params: { id: string } }>('/inbox/:id/raw', async (request, reply) => {
    const mail = inbox.get(request.params.id);
    if (!mail) return reply.code(404).send('not found');
    return reply.type('text/plain; charset=utf-8').send(mail.raw);
  });
}
