import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCompiler } from '../../src/render/index.ts';
import Fastify from 'fastify';
import { previewPlugin } from '../../src/server/preview/plugin.ts';
import { startPreviewServer, type PreviewServer } from '../../src/server/preview/server.ts';
import type { PreviewCompiler } from '../../src/server/preview/types.ts';
import { createSmtpTransport } from '../../src/transport/smtp.ts';
import type { Transport } from '../../src/transport/types.ts';
import { startSmtp, type TestSmtp } from '../support/smtp.ts';
import { copyContent, rawGet, type ContentCopy } from './content.ts';
import { appendToFirstProse } from './live.ts';

const PUBLIC_URL = 'https://news.example.org';

let content: ContentCopy;
let smtp: TestSmtp;
let transport: Transport;
let server: PreviewServer;
let slug: string;
let markdown: string;

beforeAll(async () => {
  content = await copyContent();
  smtp = await startSmtp();
  transport = createSmtpTransport({ SMTP_URL: smtp.url, SMTP_POOL_SIZE: 1 });
  const compiler = createCompiler({ contentDir: content.dir, publicUrl: PUBLIC_URL });
  const issues = await compiler.listIssues();
  slug = (issues.find((i) => i.template === 'briefing') ?? issues[0]!).slug;
  markdown = await readFile(join(content.dir, 'issues', slug, 'de.md'), 'utf8');
  server = await startPreviewServer({
    port: 0,
    contentDir: content.dir,
    publicUrl: PUBLIC_URL,
    compiler,
    transport,
    mailFrom: 'China AI2X Briefing <briefing@news.example.org>',
    links: [{ href: '/inbox', label: 'Inbox' }],
    watch: false,
  });
});

afterAll(async () => {
  await server?.close();
  await transport?.close();
  await smtp?.close();
  await content?.remove();
});

describe('preview server: what it serves', () => {
  it('lists the issues and serves the issue view, its assets and the mail', async () => {
    const index = await rawGet(server.url, '/');
    expect(index.status).toBe(200);
    expect(index.body).toContain(`href="issues/${slug}"`);
    expect(index.body).toContain('<a class="nav" href="/inbox">Inbox</a>');
    const view = await rawGet(server.url, `/issues/${slug}`);
    expect(view.status).toBe(200);
    expect(view.body).toContain(`data-slug="${slug}"`);
    expect((await rawGet(server.url, '/assets/preview.js')).type).toMatch(/^text\/javascript/);
    const mail = await rawGet(server.url, `/issues/${slug}/de/email.html`);
    expect(mail.status).toBe(200);
    expect(mail.body).toMatch(/<html[^>]*lang="de"/);
    // Sample values replace every merge marker in what the editor sees.
    expect(mail.body).not.toContain('%%depesche.');
    expect(mail.body).toContain(`${PUBLIC_URL}/unsubscribe/preview`);
  });

  it('works under a prefix in a host app, with relative links and its own 404 page', async () => {
    const host = Fastify();
    host.get('/healthz', async () => ({ ok: true }));
    await host.register(previewPlugin, {
      prefix: '/preview',
      contentDir: content.dir,
      publicUrl: PUBLIC_URL,
      compiler: createCompiler({ contentDir: content.dir, publicUrl: PUBLIC_URL }),
      watch: false,
    });
    try {
      const index = await host.inject('/preview/');
      expect(index.statusCode).toBe(200);
      expect(index.body).toContain('<base href="/preview/">');
      expect(index.body).toContain(`href="issues/${slug}"`);
      expect((await host.inject(`/preview/issues/${slug}/en/email.html`)).statusCode).toBe(200);
      expect((await host.inject('/preview/assets/depesche.css')).statusCode).toBe(200);
      const missing = await host.inject('/preview/nothing-here');
      expect(missing.statusCode).toBe(404);
      expect(missing.body).toContain('<base href="/preview/">');
      expect((await host.inject('/healthz')).json()).toEqual({ ok: true });
    } finally {
      await host.close();
    }
  });

  it('gives the page script every panel in JSON', async () => {
    const response = await fetch(new URL(`api/issues/${slug}`, server.url));
    const issue = (await response.json()) as {
      editions: { lang: string; subject: string; preheader: string; from: string; htmlBytes: number; text: string; html: string; mjml: string }[];
      findings: unknown[] | null;
      limits: { clipBytes: number };
      proof: boolean;
    };
    expect(issue.editions.map((e) => e.lang).sort()).toEqual(['de', 'en']);
    for (const edition of issue.editions) {
      expect(edition.subject.length).toBeGreaterThan(0);
      expect(edition.preheader.length).toBeGreaterThan(0);
      expect(edition.from).toBe('China AI2X Briefing <briefing@news.example.org>');
      expect(edition.htmlBytes).toBeGreaterThan(1000);
      expect(edition.mjml).toContain('<mjml');
      expect(edition.text).not.toContain('%%depesche.');
    }
    expect(issue.limits.clipBytes).toBe(102 * 1024);
    expect(issue.proof).toBe(true);
  });
});

describe('preview server without a watcher', () => {
  it('rebuilds an issue when its page is opened', async () => {
    const file = join(content.dir, 'issues', slug, 'de.md');
    const token = `Fresh-Token-${Date.now()}`;
    await writeFile(file, appendToFirstProse(markdown, token));
    try {
      await rawGet(server.url, `/issues/${slug}`);
      const mail = await rawGet(server.url, `/issues/${slug}/de/email.html`);
      expect(mail.body).toContain(token);
    } finally {
      await writeFile(file, markdown);
      await rawGet(server.url, `/issues/${slug}`);
    }
  });
});

describe('preview server: proof send', () => {
  it('sends each language with the headers of a real send and "[Test]" in the subject', async () => {
    const before = smtp.mails.length;
    const response = await fetch(new URL(`api/issues/${slug}/proof`, server.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', origin: server.url.replace(/\/$/, '') },
      body: JSON.stringify({ to: 'editor@example.org', lang: 'all' }),
    });
    expect(response.status).toBe(200);
    const { sent } = (await response.json()) as { sent: { lang: string; subject: string }[] };
    expect(sent.map((s) => s.lang).sort()).toEqual(['de', 'en']);
    await smtp.waitFor(before + 2);
    const mails = smtp.mails.slice(before);
    const api = (await (await fetch(new URL(`api/issues/${slug}`, server.url))).json()) as { editions: { lang: string; subject: string }[] };
    for (const mail of mails) {
      const { parsed } = mail;
      expect(mail.to).toEqual(['editor@example.org']);
      const lang = parsed.headers.get('content-language');
      const edition = api.editions.find((e) => e.lang === lang)!;
      expect(edition).toBeDefined();
      expect(parsed.subject).toBe(`[Test] ${edition.subject}`);
      expect(parsed.from?.text).toBe('"China AI2X Briefing" <briefing@news.example.org>');
      // mailparser folds List-* headers into one object, so these are read from the unfolded source.
      const head = mail.raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ');
      expect(head).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/im);
      expect(head).toMatch(/^List-Unsubscribe: <https:\/\/news\.example\.org\/[^>]+>, <mailto:[^>]+>/m);
      expect(head).toMatch(/^List-Id: .*<[^>]+\.[^>]+>\r?$/im);
      expect(parsed.messageId).toMatch(/^<.+@.+>$/);
      expect(parsed.date).toBeInstanceOf(Date);
      expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
      expect(parsed.html).toBeTruthy();
      expect(parsed.text).toBeTruthy();
      expect(mail.raw).not.toContain('%%depesche.');
    }
  });
});

describe('preview server: safety', () => {
  const attempts = [
    '/assets/../../package.json',
    '/assets/..%2f..%2fpackage.json',
    '/assets/%2e%2e/%2e%2e/package.json',
    '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
    '/assets/%2fetc%2fpasswd',
    '/assets//etc/passwd',
    '/assets/..%5c..%5cpackage.json',
    '//etc/passwd',
    '/../../../../etc/passwd',
    '/issues/..%2f..%2fpackage.json',
    '/issues/%2e%2e',
    '/issues/%2e%2e/de/email.html',
    '/issues/..%2fissues%2fSLUG/de/email.html',
    '/issues/SLUG/..%2fde.md/email.html',
    '/issues/SLUG/%2e%2e%2f%2e%2e%2fpackage.json/email.html',
    '/issues/%2fetc%2fpasswd/de/email.html',
    '/api/issues/..%2f..%2fpackage.json',
    '/api/issues/%2e%2e%2fSLUG',
  ];

  it.each(attempts)('refuses %s', async (attempt) => {
    const response = await rawGet(server.url, attempt.replaceAll('SLUG', slug));
    expect(response.status).toBe(404);
    expect(response.body).not.toContain('"name": "depesche"');
    expect(response.body).not.toContain('root:x:0:0');
    expect(response.body).not.toContain(markdown.slice(0, 40));
    if (!attempt.startsWith('/api/')) expect(response.body).toContain('Not found');
  });

  it('answers loopback names only, against DNS rebinding', async () => {
    expect((await rawGet(server.url, '/', { host: 'evil.example:80' })).status).toBe(421);
    expect((await rawGet(server.url, '/', { host: 'localhost' })).status).toBe(200);
  });

  it('refuses proof requests that a foreign page could forge', async () => {
    const url = new URL(`api/issues/${slug}/proof`, server.url);
    const body = JSON.stringify({ to: 'victim@example.org', lang: 'de' });
    const form = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body });
    expect(form.status).toBe(400);
    const foreign = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', origin: 'http://evil.example' }, body });
    expect(foreign.status).toBe(400);
    const injected = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: 'a@b.org\r\nBcc: x@y.org', lang: 'de' }) });
    expect(injected.status).toBe(400);
    expect(smtp.mails.filter((m) => m.to.includes('victim@example.org') || m.to.includes('x@y.org'))).toHaveLength(0);
  });

  it('shows an error page for a failing request and keeps serving', async () => {
    const real = createCompiler({ contentDir: content.dir, publicUrl: PUBLIC_URL });
    let crash = true;
    // A crash inside the compiler cannot be produced from content alone; inject one.
    const flaky: PreviewCompiler = {
      listIssues: () => (crash ? Promise.reject(new TypeError('boom in listIssues')) : real.listIssues()),
      compile: (s) => (crash ? Promise.reject(new TypeError('boom in compile')) : real.compile(s)),
      lint: (s) => real.lint(s),
      invalidate: (p) => real.invalidate(p),
    };
    const broken = await startPreviewServer({ port: 0, contentDir: content.dir, publicUrl: PUBLIC_URL, compiler: flaky, watch: false });
    try {
      const view = await rawGet(broken.url, `/issues/${slug}`);
      expect(view.status).toBe(500);
      expect(view.type).toMatch(/^text\/html/);
      expect(view.body).toContain('Something went wrong');
      expect(view.body).not.toContain('boom'); // no internals in error pages
      const api = await fetch(new URL('api/issues', broken.url));
      expect(api.status).toBe(500);
      expect(((await api.json()) as { error: { code: string } }).error.code).toBe('E_INTERNAL');
      const index = await rawGet(broken.url, '/');
      expect(index.status).toBe(200);
      expect(index.body).toContain('The issues cannot be listed');
      crash = false;
      const missing = await rawGet(broken.url, '/issues/no-such-issue');
      expect(missing.status).toBe(404);
      expect(missing.body).toContain('does not exist');
      const proof = await fetch(new URL(`api/issues/${slug}/proof`, broken.url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"to":"a@b.org"}' });
      expect(proof.status).toBe(409); // no transport configured: says so instead of crashing
      expect((await rawGet(broken.url, `/issues/${slug}`)).status).toBe(200);
    } finally {
      await broken.close();
    }
  });
});
