import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTranslator } from '../src/i18n/index.ts';
import { buildAdminApp } from '../src/server/admin/app.ts';
import { confirmMail } from '../src/server/public/confirm-mail.ts';
import { startDevInbox, type DevInbox } from '../src/transport/dev-inbox.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));

/** A campaign mail as Depesche's builder heads it, with a subject that needs RFC 2047. */
function campaignMail(to: string, lang: 'de' | 'en', subject: string) {
  return {
    from: 'China AI2X <briefing@news.example.org>',
    to,
    subject,
    text: `Text for ${to}`,
    html: `<p>HTML for ${to}</p>`,
    headers: {
      'X-Depesche-Campaign': 'c123',
      'List-Id': 'Briefing <briefing.news.example.org>',
      'List-Unsubscribe': '<https://news.example.org/unsubscribe/t>, <mailto:unsubscribe@news.example.org?subject=unsubscribe>',
      'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
      'Content-Language': lang,
    },
  };
}

describe('dev inbox kept on disk', () => {
  let dir: string;
  let inbox: DevInbox;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'depesche-inbox-'));
    inbox = await startDevInbox({ dir });
    const mailer = nodemailer.createTransport({ url: inbox.url } as never);
    const t = await loadTranslator(join(repo, 'locales'));
    // The real double opt-in mail, as the public app sends it.
    await mailer.sendMail(
      confirmMail(
        t,
        { from: 'Briefing <briefing@news.example.org>', site: 'China AI2X' },
        { to: 'neu@example.org', lang: 'de', confirmUrl: 'https://news.example.org/confirm/abc', lists: ['newsletter'], requestedLang: 'de', expiresInDays: 7 },
        '<confirm.test@news.example.org>',
      ),
    );
    await mailer.sendMail(campaignMail('anna@example.org', 'de', 'China AI2X: Ein Sprachmodell rechnet im Orbit – Grüße'));
    await mailer.sendMail(campaignMail('emma@example.org', 'en', 'China AI2X: A language model computes in orbit'));
    mailer.close();
  });

  afterAll(async () => {
    await inbox?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('tells a transactional mail from a campaign mail and checks each for what it needs', () => {
    const [en, de, confirmation] = inbox.list();
    expect([en!.kind, de!.kind, confirmation!.kind]).toEqual(['campaign', 'campaign', 'transactional']);
    // The confirmation mail needs no List headers: nothing fails.
    expect(confirmation!.checks.filter((c) => c.status !== 'pass')).toEqual([]);
    expect(confirmation!.checks.map((c) => c.name)).toContain('Auto-Submitted');
    expect(de!.checks.filter((c) => c.status !== 'pass')).toEqual([]);
  });

  it('shows headers decoded, with the encoded form kept', () => {
    const de = inbox.list({ lang: 'de', kind: 'campaign' })[0]!;
    const subject = de.headers.find((h) => h.key === 'Subject')!;
    expect(subject.value).toBe('China AI2X: Ein Sprachmodell rechnet im Orbit – Grüße');
    expect(subject.raw).toMatch(/=\?UTF-8\?[QB]\?/i);
    const confirmation = inbox.list({ kind: 'transactional' })[0]!.headers.find((h) => h.key === 'Subject')!;
    expect(confirmation.value).toBe('Bitte bestätigen: Newsletter von China AI2X');
    expect(confirmation.raw).toMatch(/=\?UTF-8\?[QB]\?/i);
  });

  it('searches subject, addresses and text, and filters by kind, language and checks', () => {
    expect(inbox.list({ q: 'ORBIT' }).map((m) => m.to)).toEqual(['emma@example.org', 'anna@example.org']);
    expect(inbox.list({ q: 'orbit grüße' }).map((m) => m.to)).toEqual(['anna@example.org']);
    expect(inbox.list({ q: 'text for emma' }).map((m) => m.to)).toEqual(['emma@example.org']);
    expect(inbox.list({ q: 'neu@example' }).map((m) => m.kind)).toEqual(['transactional']);
    expect(inbox.list({ lang: 'en' })).toHaveLength(1);
    expect(inbox.list({ kind: 'transactional', lang: 'en' })).toHaveLength(0);
    expect(inbox.list({ checks: 'fail' })).toHaveLength(0);
  });

  it('keeps every mail across a restart, deletes one or all, and takes another port when its own is taken', async () => {
    const before = inbox.list();
    const port = inbox.port;
    await inbox.close();
    // Someone else holds the old port now: the inbox starts anyway, on another.
    const squatter = await startDevInbox({ port });
    inbox = await startDevInbox({ dir, port });
    expect(inbox.port).not.toBe(port);
    await squatter.close();

    expect(inbox.list().map((m) => [m.id, m.subject])).toEqual(before.map((m) => [m.id, m.subject]));
    const de = (await inbox.message(before[1]!.id))!;
    expect(de.html).toContain('HTML for anna@example.org');
    expect(de.raw).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');

    expect(await inbox.delete(before[1]!.id)).toBe(true);
    expect(await inbox.delete(before[1]!.id)).toBe(false);
    expect(readdirSync(dir).sort()).toHaveLength(4);
    await inbox.close();
    inbox = await startDevInbox({ dir });
    expect(inbox.list().map((m) => m.id)).toEqual([before[0]!.id, before[2]!.id]);
    await inbox.clear();
    expect(inbox.list()).toEqual([]);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('dev inbox pages', () => {
  let inbox: DevInbox;
  let ids: string[];
  let app: Awaited<ReturnType<typeof buildAdminApp>>;

  beforeAll(async () => {
    inbox = await startDevInbox();
    const mailer = nodemailer.createTransport({ url: inbox.url } as never);
    await mailer.sendMail(campaignMail('anna@example.org', 'de', 'Grüße aus dem Orbit'));
    await mailer.sendMail({ ...campaignMail('bob@example.org', 'en', 'No one-click'), headers: { 'X-Depesche-Campaign': 'c1', 'Content-Language': 'en' } });
    mailer.close();
    ids = inbox.list().map((m) => m.id);
    app = await buildAdminApp({ config: { ADMIN_HOST: '127.0.0.1', ADMIN_TOKEN: undefined }, inbox });
  });

  afterAll(async () => {
    await app?.close();
    await inbox?.close();
  });

  it('renders the search and filters on the server', async () => {
    const all = (await app.inject({ url: '/inbox' })).body;
    expect(all).toContain('Grüße aus dem Orbit');
    expect(all).toContain('✗ 3 header checks failed');
    const found = (await app.inject({ url: '/inbox?q=orbit' })).body;
    expect(found).toContain('Grüße aus dem Orbit');
    expect(found).not.toContain('No one-click');
    expect(found).toContain('1 of 2 mails');
    const failing = (await app.inject({ url: '/inbox?checks=fail' })).body;
    expect(failing).toContain('No one-click');
    expect(failing).not.toContain('Grüße aus dem Orbit');
    const api = (await app.inject({ url: '/api/inbox?lang=de' })).json() as { mails: { subject: string }[]; total: number };
    expect(api).toMatchObject({ total: 2, mails: [{ subject: 'Grüße aus dem Orbit' }] });
    // The decoded subject in the headers table, the encoded one under it.
    const detail = (await app.inject({ url: `/inbox/${ids[1]}` })).body;
    expect(detail).toMatch(/<th>Subject<\/th><td><code>Grüße aus dem Orbit<\/code><br><code class="muted" title="as sent">=\?UTF-8\?/);
  });

  it('deletes one mail by form post and all by the API', async () => {
    const deleted = await app.inject({ method: 'POST', url: `/inbox/${ids[0]}/delete` });
    expect(deleted.statusCode).toBe(303);
    expect(inbox.list().map((m) => m.id)).toEqual([ids[1]]);
    expect((await app.inject({ method: 'DELETE', url: `/api/inbox/${ids[0]}` })).statusCode).toBe(404);
    expect((await app.inject({ method: 'DELETE', url: '/api/inbox' })).json()).toEqual({ ok: true, deleted: 1 });
    expect((await app.inject({ url: '/inbox' })).body).toContain('No mail yet');
  });
});
