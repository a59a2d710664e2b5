import { createHmac } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startInbound, type InboundRun } from '../src/app/inbound-process.ts';
import { keyspace, loadConfig } from '../src/config/index.ts';
import { ReturnCounts } from '../src/inbound/counts.ts';
import { createMetrics } from '../src/server/admin/metrics.ts';
import { createLogger } from '../src/log.ts';
import { simulatedReport } from '../src/transport/dev-returns.ts';
import { fixedCompiler, LIST, makeFixture, sleep, tinyEditions, waitDone, waitUntil, type Fixture, type FixtureHost } from './support/campaign.ts';
import { freePort } from './support/ports.ts';
import { startPublicSide } from './support/public-side.ts';
import { startRedis, type TestRedis } from './support/redis.ts';
import { startSmtp, type CapturedMail, type TestSmtp } from './support/smtp.ts';

/**
 * The return path end to end: a campaign goes out through a real SMTP relay (smtp-server)
 * that accepts every message; later the relay's reports and the readers' mails come back
 * over SMTP to `depesche inbound`, which changes the readers and the campaign's ledger in Redis.
 */

const SLUG = '2026-02-22-china-ai2x';
const RETURN_PATH_DOMAIN = 'bounces.example.org';

let redis: TestRedis;
let relay: TestSmtp;
let dir: string;
const cleanups: (() => Promise<void>)[] = [];
const host: FixtureHost = { redis: () => redis, sink: () => relay as TestSmtp<unknown>, compiler: fixedCompiler((slug) => tinyEditions(slug)), cleanups };

beforeAll(async () => {
  [redis, relay] = await Promise.all([startRedis(), startSmtp()]);
  dir = await mkdtemp(join(tmpdir(), 'depesche-return-path-'));
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await relay?.close();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** `depesche inbound` for a fixture: the same installation (prefix, secret, MAIL_FROM), on a free port. */
async function inbound(f: Fixture): Promise<InboundRun> {
  const config = loadConfig({
    env: { ...f.vars, INBOUND_SMTP_PORT: String(await freePort()), INBOUND_QUARANTINE_DIR: join(dir, f.prefix), IMAP_URL: '' },
  });
  const run = await startInbound(config, { smtp: true, imap: false, logger: createLogger({ level: 'silent', pretty: false }) });
  cleanups.push(() => run.close());
  return run;
}

async function deliver(run: InboundRun, envelope: { from: string; to: string }, raw: Buffer | string): Promise<void> {
  const client = nodemailer.createTransport({ host: '127.0.0.1', port: run.smtp!.port, secure: false, ignoreTLS: true });
  try {
    await client.sendMail({ envelope, raw });
  } finally {
    client.close();
  }
}

async function sent(f: Fixture, readers: number): Promise<{ id: string; mailTo: (i: number) => CapturedMail }> {
  const id = (await f.service.create({ slug: SLUG, list: LIST })).id!;
  await f.worker();
  expect(await waitDone(f, id, 60_000)).toMatchObject({ sent: readers, bounced: 0 });
  const mailTo = (i: number) => relay.mails.find((m) => m.to[0] === f.emails[i])!;
  return { id, mailTo };
}

describe('what comes back, over SMTP, into Redis', () => {
  it('a DSN the relay returns later bounces the reader; the ledger and the counts move from sent to bounced, once', async () => {
    const f = await makeFixture(host, 3, { RETURN_PATH_DOMAIN });
    const run = await inbound(f);
    const { id, mailTo } = await sent(f, 3);
    const original = mailTo(0);
    expect(original.from).toMatch(new RegExp(`^b-[a-z2-7]+@${RETURN_PATH_DOMAIN.replace(/\./g, '\\.')}$`));

    const report = simulatedReport({ kind: 'bounce', returnPath: original.from, recipient: f.emails[0]!, original: original.raw });
    await deliver(run, { from: '', to: original.from }, report);
    await waitUntil('reader bounced', async () => (await f.store.get(f.ids[0]!))?.status === 'bounced', 10_000);
    expect(await f.service.status(id)).toMatchObject({ sent: 2, bounced: 1, state: 'done' });
    expect(await f.service.ledger.stateOf(id, f.ids[0]!)).toBe('bounced');
    const log = await f.store.consentLog(f.ids[0]!);
    expect(log.at(-1)).toMatchObject({ event: 'bounced', via: 'mail' });
    expect(log.at(-1)?.reason).toContain(id);
    expect(log.at(-1)?.reason).toContain('5.1.1');

    // The relay delivers the same report again (its client timed out): nothing moves twice.
    await deliver(run, { from: '', to: original.from }, report);
    await sleep(300);
    expect(await f.service.status(id)).toMatchObject({ sent: 2, bounced: 1 });
    const metrics = await createMetrics({ returns: () => new ReturnCounts(redis.client(), keyspace(f.prefix)).read() }).render();
    expect(metrics).toContain('depesche_returns_total{kind="hard-bounce",source="smtp"} 1\n');
    // The others were not touched.
    expect((await f.store.get(f.ids[1]!))?.status).toBe('active');

    // Ops undo the bounce (a mailbox that was only moved): active again, logged with who and why.
    await f.store.reactivate(f.ids[0]!, { by: 'ops@example.org', reason: 'mailbox restored' });
    expect((await f.store.get(f.ids[0]!))?.status).toBe('active');
    expect((await f.store.consentLog(f.ids[0]!)).at(-1)).toMatchObject({ event: 'reactivated', by: 'ops@example.org' });
  }, 90_000);

  it('a full mailbox counts as a soft bounce: the reader stays active until SOFT_BOUNCE_LIMIT of them', async () => {
    const f = await makeFixture(host, 1, { RETURN_PATH_DOMAIN, SOFT_BOUNCE_LIMIT: '2' });
    const run = await inbound(f);
    const first = await sent(f, 1);
    const mail = first.mailTo(0);
    await deliver(run, { from: '', to: mail.from }, simulatedReport({ kind: 'full', returnPath: mail.from, recipient: f.emails[0]!, original: mail.raw }));
    await waitUntil('ledger failed', async () => (await f.service.ledger.stateOf(first.id, f.ids[0]!)) === 'failed', 10_000);
    expect((await f.store.get(f.ids[0]!))?.status).toBe('active');
    // A second report (another message, a later day) reaches the limit.
    const second = simulatedReport({ kind: 'full', returnPath: mail.from, recipient: f.emails[0]!, original: mail.raw, now: new Date(Date.now() + 86_400_000) });
    await deliver(run, { from: '', to: mail.from }, second);
    await waitUntil('reader bounced', async () => (await f.store.get(f.ids[0]!))?.status === 'bounced', 10_000);
    expect(await f.service.status(first.id)).toMatchObject({ sent: 0, failed: 0, bounced: 1 });
  }, 90_000);

  it('a complaint (ARF) makes the reader complained, never mailed again', async () => {
    const f = await makeFixture(host, 2, { RETURN_PATH_DOMAIN });
    const run = await inbound(f);
    const { mailTo } = await sent(f, 2);
    const mail = mailTo(1);
    await deliver(run, { from: '', to: mail.from }, simulatedReport({ kind: 'complain', returnPath: mail.from, recipient: f.emails[1]!, original: mail.raw }));
    await waitUntil('reader complained', async () => (await f.store.get(f.ids[1]!))?.status === 'complained', 10_000);
    expect((await f.store.get(f.ids[0]!))?.status).toBe('active');
    // A complaint is never undone by ops.
    await expect(f.store.reactivate(f.ids[1]!, { by: 'ops@example.org', reason: 'try' })).rejects.toThrow(/complained/);
  }, 90_000);

  it('a mail to the signed mailto takes the reader off that list only, logged via mail; the token-less address unsubscribes its sender', async () => {
    const f = await makeFixture(host, 3);
    for (const i of [0, 1]) await f.store.addToList(f.ids[i]!, 'partners');
    const run = await inbound(f);
    const { mailTo } = await sent(f, 3);
    const address = /mailto:([^>?]+)/.exec(mailTo(0).raw.replace(/\r\n\s+/g, ' '))![1]!;
    expect(address).toMatch(/^unsubscribe\+[a-z2-7]+@example\.org$/);

    await deliver(run, { from: f.emails[0]!, to: address }, `From: <${f.emails[0]}>\r\nTo: <${address}>\r\nSubject: unsubscribe\r\n\r\nPlease.\r\n`);
    await waitUntil('reader 0 left the list', async () => !(await f.store.get(f.ids[0]!))?.lists.includes(LIST), 10_000);
    const reader0 = (await f.store.get(f.ids[0]!))!;
    expect(reader0.lists).toEqual(['partners']);
    expect(reader0.status).toBe('active');
    expect((await f.store.consentLog(f.ids[0]!)).at(-1)).toMatchObject({ event: 'left', list: LIST, via: 'mail' });

    // Mail sent before tokens: `unsubscribe@example.org`, from an address on the lists.
    await deliver(run, { from: f.emails[1]!, to: 'unsubscribe@example.org' }, `From: <${f.emails[1]}>\r\nTo: <unsubscribe@example.org>\r\nSubject: unsubscribe\r\n\r\n`);
    await waitUntil('reader 1 unsubscribed', async () => (await f.store.get(f.ids[1]!))?.status === 'unsubscribed', 10_000);
    expect((await f.store.get(f.ids[1]!))!.lists).toEqual([]);
    expect((await f.store.consentLog(f.ids[1]!)).some((e) => e.event === 'left' && /token-less/.test(e.reason ?? ''))).toBe(true);

    // A forged token is refused before the message is taken; nobody changes.
    const forged = address.replace(/\+([a-z2-7])/, (_m, c: string) => `+${c === 'a' ? 'b' : 'a'}`);
    await expect(deliver(run, { from: f.emails[2]!, to: forged }, `From: <${f.emails[2]}>\r\nSubject: x\r\n\r\n`)).rejects.toThrow(/550/);
    expect((await f.store.get(f.ids[2]!))!.lists).toEqual([LIST]);
  }, 90_000);

  it('the public app takes a provider webhook (Mailgun) into the same stores: valid applies, forged and replayed are refused', async () => {
    const f = await makeFixture(host, 2);
    const { id } = await sent(f, 2);
    const key = 'key-mailgun-signing-0123456789abcdef';
    const side = await startPublicSide(redis, relay, { prefix: f.prefix, env: { MAILGUN_WEBHOOK_SIGNING_KEY: key } });
    cleanups.push(() => side.stop());
    const payload = (signingKey = key, token = `tok${Math.random().toString(36).slice(2)}${'0'.repeat(30)}`) => {
      const timestamp = String(Math.floor(Date.now() / 1000));
      return {
        signature: { timestamp, token, signature: createHmac('sha256', signingKey).update(`${timestamp}${token}`).digest('hex') },
        'event-data': {
          event: 'failed', id: `ev-${token}`, severity: 'permanent', reason: 'bounce', recipient: f.emails[1], timestamp: Date.now() / 1000,
          'delivery-status': { code: 550, message: '5.1.1 The email account that you tried to reach does not exist.', description: '' },
          'user-variables': { 'depesche-campaign': id, 'depesche-subscriber': f.ids[1] },
        },
      };
    };
    const post = (body: unknown) => fetch(`${side.base}/webhooks/mailgun`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post(payload('key-someone-else-0123456789abcdef'))).status).toBe(403);
    expect((await f.store.get(f.ids[1]!))!.status).toBe('active');
    const genuine = payload();
    expect((await post(genuine)).status).toBe(200);
    expect((await f.store.get(f.ids[1]!))!.status).toBe('bounced');
    expect(await f.service.status(id)).toMatchObject({ sent: 1, bounced: 1 });
    expect((await post(genuine)).status).toBe(403);
    expect(await f.service.status(id)).toMatchObject({ sent: 1, bounced: 1 });
  }, 90_000);

  it('a stranger\'s DSN and ARF naming readers only by address change nobody: kept and counted unmatched; a report quoting our Message-ID is applied', async () => {
    const f = await makeFixture(host, 3, { RETURN_PATH_DOMAIN });
    const run = await inbound(f);
    const { id, mailTo } = await sent(f, 3);
    const postmaster = `postmaster@${RETURN_PATH_DOMAIN}`;
    // What a forger can write: a real subscriber's address, a made-up original without our token or a Message-ID we sent.
    const madeUp = `From: <news@example.org>\r\nTo: <${f.emails[0]}>\r\nMessage-ID: <made.up.1@example.org>\r\nX-Depesche-Campaign: ${id}\r\nSubject: x\r\n\r\n`;
    await deliver(run, { from: '', to: postmaster }, simulatedReport({ kind: 'bounce', returnPath: postmaster, recipient: f.emails[0]!, original: madeUp }));
    await deliver(run, { from: 'fbl@mx.example.org', to: postmaster }, simulatedReport({ kind: 'complain', returnPath: postmaster, recipient: f.emails[1]!, original: madeUp.replace(f.emails[0]!, f.emails[1]!) }));
    await waitUntil('both kept', async () => (await readdir(join(dir, f.prefix)).catch(() => [])).filter((n) => n.endsWith('.eml')).length === 2, 10_000);
    for (const i of [0, 1]) expect((await f.store.get(f.ids[i]!))?.status).toBe('active');
    expect(await f.service.status(id)).toMatchObject({ sent: 3, bounced: 0 });
    const notes = await Promise.all((await readdir(join(dir, f.prefix))).filter((n) => n.endsWith('.json')).map((n) => readFile(join(dir, f.prefix, n), 'utf8')));
    expect(notes.every((n) => /unmatched: (bounce|complaint) that names its reader only by address/.test(n))).toBe(true);
    const metrics = async () => createMetrics({ returns: () => new ReturnCounts(redis.client(), keyspace(f.prefix)).read() }).render();
    expect(await metrics()).toContain('depesche_returns_total{kind="unmatched",source="smtp"} 2\n');

    // A genuine report to the same mailbox that quotes the Message-ID we sent (and no token) names its reader.
    const original = mailTo(2).raw.replace(/^List-Unsubscribe(-Post)?:.*\r\n(\s+.*\r\n)*/gim, '');
    expect(original).not.toMatch(/unsubscribe\+/);
    await deliver(run, { from: '', to: postmaster }, simulatedReport({ kind: 'bounce', returnPath: postmaster, recipient: f.emails[2]!, original }));
    await waitUntil('reader 2 bounced', async () => (await f.store.get(f.ids[2]!))?.status === 'bounced', 10_000);
    expect(await f.service.status(id)).toMatchObject({ sent: 2, bounced: 1 });
    expect(await metrics()).toContain('depesche_returns_total{kind="hard-bounce",source="smtp"} 1\n');

    // The token-less unsubscribe address acts only for a sender whose envelope agrees with the From.
    await deliver(run, { from: 'prankster@example.com', to: 'unsubscribe@example.org' }, `From: <${f.emails[0]}>\r\nTo: <unsubscribe@example.org>\r\nSubject: unsubscribe\r\n\r\n`);
    await waitUntil('kept', async () => (await readdir(join(dir, f.prefix))).filter((n) => n.endsWith('.eml')).length === 3, 10_000);
    expect((await f.store.get(f.ids[0]!))!.lists).toEqual([LIST]);
    expect(await metrics()).toContain('depesche_returns_total{kind="unmatched",source="smtp"} 3\n');
  }, 90_000);

  it('keeps a message it cannot read, and goes on', async () => {
    const f = await makeFixture(host, 1, { RETURN_PATH_DOMAIN });
    const run = await inbound(f);
    const { mailTo } = await sent(f, 1);
    const mail = mailTo(0);
    await deliver(run, { from: 'someone@example.net', to: mail.from }, 'From: <someone@example.net>\r\nSubject: Re: your newsletter\r\n\r\nWho are you?\r\n');
    await waitUntil('kept', async () => (await readdir(join(dir, f.prefix)).catch(() => [])).length > 0, 10_000);
    expect((await f.store.get(f.ids[0]!))?.status).toBe('active');
  }, 60_000);

  it('while Redis is down a report gets 451 and nothing changes; the retry after Redis is back is applied', async () => {
    const f = await makeFixture(host, 1, { RETURN_PATH_DOMAIN });
    const run = await inbound(f);
    const { id, mailTo } = await sent(f, 1);
    const mail = mailTo(0);
    const report = simulatedReport({ kind: 'bounce', returnPath: mail.from, recipient: f.emails[0]!, original: mail.raw });
    await redis.kill();
    try {
      await expect(deliver(run, { from: '', to: mail.from }, report)).rejects.toMatchObject({ responseCode: 451 });
    } finally {
      await redis.restart();
    }
    expect((await f.store.get(f.ids[0]!))!.status).toBe('active');
    await deliver(run, { from: '', to: mail.from }, report);
    await waitUntil('reader bounced', async () => (await f.store.get(f.ids[0]!))!.status === 'bounced', 10_000);
    expect(await f.service.status(id)).toMatchObject({ sent: 0, bounced: 1 });
  }, 90_000);
});
