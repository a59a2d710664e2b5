import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignService, type CampaignCompiler } from '../src/campaign/index.ts';
import { campaignKeys } from '../src/campaign/keys.ts';
import { createRedis, keyspace, loadConfig } from '../src/config/index.ts';
import type { Edition } from '../src/core/edition.ts';
import { createCompiler } from '../src/render/index.ts';
import { RedisSubscriberStore } from '../src/subscribers/redis-store.ts';
import { verifyToken } from '../src/subscribers/tokens.ts';
import { cli, env, killed, LIST, makeFixture, root, SECRET, sleep, waitDone, waitUntil, type FixtureHost } from './support/campaign.ts';
import { freePort } from './support/ports.ts';
import { startRedis, type TestRedis } from './support/redis.ts';
import { header, startSmtp, type TestSmtp } from './support/smtp.ts';

const SLUG = '2026-02-22-china-ai2x';

let redis: TestRedis;
let sink: TestSmtp<undefined>;
const cleanups: (() => Promise<void>)[] = [];

// The real compiler, once per slug: compiling is the compile helper's business, not ours.
const realCompiler = createCompiler({ contentDir: root, publicUrl: 'https://news.example.org' });
const compiled = new Map<string, Promise<Edition[]>>();
const compile = (slug: string): Promise<Edition[]> => {
  if (!compiled.has(slug)) compiled.set(slug, realCompiler.compile(slug));
  return compiled.get(slug)!;
};
const compiler: CampaignCompiler = { compileForSend: async (slug) => ({ editions: await compile(slug), findings: [] }) };
const host: FixtureHost = { redis: () => redis, sink: () => sink, compiler, cleanups };
const fixture = (count: number, extra: Record<string, string> = {}) => makeFixture(host, count, extra);

beforeAll(async () => {
  [redis, sink] = await Promise.all([startRedis(), startSmtp({ parse: false })]);
  await compile(SLUG);
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await sink?.close();
  await redis?.stop();
});

describe('send: campaigns through BullMQ with a delivery ledger', () => {
  it('sends 2,000 subscribers (half DE, half EN) exactly one mail each, in their language, with correct headers', async () => {
    const f = await fixture(2000);
    const editions = await compile(SLUG);
    const subjects = Object.fromEntries(editions.map((e) => [e.lang, e.subject]));
    const created = await f.service.create({ slug: SLUG, list: LIST });
    const id = created.id!;
    expect(created.counts).toEqual({ de: 1000, en: 1000 });
    f.spawnWorker();
    const status = await waitDone(f, id);
    expect(status).toMatchObject({ state: 'done', total: 2000, sent: 2000, failed: 0, bounced: 0, skipped: 0, unclear: 0, remaining: 0 });

    const mails = f.mails();
    expect(mails).toHaveLength(2000);
    const byAddress = new Map(mails.map((m) => [m.to[0]!, m]));
    const messageIds = new Set<string>();
    for (let i = 0; i < f.emails.length; i++) {
      const email = f.emails[i]!;
      expect(f.ids[i]).toBeDefined();
      expect(sink.received(email), email).toBe(1);
      const raw = byAddress.get(email)!.raw;
      expect(header(raw, 'Content-Language')).toBe(f.langs[i]);
      expect(header(raw, 'List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
      expect(header(raw, 'List-Id')).toBe('"weekly" <weekly.briefing.example.org>');
      messageIds.add(header(raw, 'Message-ID')!);
    }
    expect(messageIds.size).toBe(2000);

    // Full parse of a sample: subject per language, tokens for the right subscriber, parts.
    for (const i of [0, 1, 2, 3, 998, 999, 1998, 1999]) {
      const parsed = await simpleParser(byAddress.get(f.emails[i]!)!.raw);
      expect(parsed.subject).toBe(subjects[f.langs[i]!]);
      const list = parsed.headerLines.find((l) => l.key === 'list-unsubscribe')!.line;
      const token = /\/unsubscribe\/([\w.-]+)>/.exec(list)![1]!;
      expect(verifyToken(token, 'unsubscribe', SECRET)).toMatchObject({ sub: f.ids[i], cmp: id });
      expect(list).toMatch(/<mailto:unsubscribe\+[a-z2-7]+@example\.org>/);
      expect(parsed.html).toContain(`https://news.example.org/unsubscribe/${token}`);
      expect(parsed.text).toContain(`https://news.example.org/unsubscribe/${token}`);
      expect(parsed.html).toContain(`https://news.example.org/archive/${SLUG}/${f.langs[i]}`);
      expect(parsed.html).not.toContain('%%depesche.');
      expect(parsed.text).toContain(i % 3 === 0 ? '' : `Reader ${i}`);
      expect(parsed.from?.value[0]?.address).toBe('briefing@example.org');
    }
  }, 200_000);

  it('survives three SIGKILLs of the worker mid-send: no duplicates, no silent skips, unclear within the in-flight bound', async () => {
    const f = await fixture(1200);
    sink.setDelay(15);
    try {
      const id = (await f.service.create({ slug: SLUG, list: LIST })).id!;
      let worker = f.spawnWorker();
      for (const after of [150, 450, 750]) {
        await waitUntil(`${after} mails`, () => f.mails().length >= after, 60_000, 10);
        await killed(worker);
        worker = f.spawnWorker();
      }
      const status = await waitDone(f, id);
      const unclear = await f.service.unclear(id);
      // In flight per worker: 2 × SMTP_POOL_SIZE; one crash can leave at most that many.
      expect(status.unclear).toBeLessThanOrEqual(3 * 2 * 5);
      expect(unclear).toHaveLength(status.unclear);
      expect(status).toMatchObject({ state: 'done', total: 1200, failed: 0, bounced: 0, skipped: 0, remaining: 0 });
      expect(status.sent + status.unclear).toBe(1200);
      const unclearEmails = new Set(unclear.map((u) => u.email));
      for (const email of f.emails) {
        const n = sink.received(email);
        expect(n, email).toBeLessThanOrEqual(1);
        if (n === 0) expect(unclearEmails.has(email), `${email} got nothing and is not unclear`).toBe(true);
      }
      // Everyone the ledger calls sent really got it.
      for (let i = 0; i < f.ids.length; i++) {
        if ((await f.service.ledger.stateOf(id, f.ids[i]!)) === 'sent') expect(sink.received(f.emails[i]!)).toBe(1);
      }

      // Ops resend on purpose: each unclear recipient is sent exactly once more.
      if (unclear.length > 0) {
        const before = new Map(unclear.map((u) => [u.email!, sink.received(u.email!)]));
        const resent = await f.service.resend(id, { unclear: true });
        expect(resent.recipients).toBe(unclear.length);
        const after = await waitDone(f, id);
        expect(after.unclear).toBe(0);
        expect(after.sent).toBe(1200);
        for (const [email, n] of before) expect(sink.received(email)).toBe(n + 1);
      }
    } finally {
      sink.setDelay(0);
    }
  }, 240_000);

  it('stops gracefully on SIGTERM: finishes the messages in flight, leaves the rest queued', async () => {
    const f = await fixture(600);
    sink.setDelay(10);
    try {
      const id = (await f.service.create({ slug: SLUG, list: LIST })).id!;
      const worker = f.spawnWorker();
      await waitUntil('150 mails', () => f.mails().length >= 150, 60_000, 10);
      const exited = new Promise<number | null>((resolve) => worker.once('exit', (code) => resolve(code)));
      const stopAt = Date.now();
      worker.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(Date.now() - stopAt).toBeLessThan(15_000);
      const stopped = await f.service.status(id);
      // Every message handed to SMTP got its answer recorded before the process left.
      expect(stopped.unclear).toBe(0);
      expect(stopped.sent).toBe(f.mails().length);
      expect(stopped.remaining).toBeGreaterThan(0);
      f.spawnWorker();
      const done = await waitDone(f, id);
      expect(done).toMatchObject({ sent: 600, unclear: 0, remaining: 0 });
      for (const email of f.emails) expect(sink.received(email), email).toBe(1);
    } finally {
      sink.setDelay(0);
    }
  }, 90_000);

  it('works from the command line: send (dry run, scheduled), status, pause, update, resume, cancel', async () => {
    const f = await fixture(20);
    const run = (...args: string[]) => cli({ ...f.vars, TZ: 'Europe/Berlin' }, ...args);
    const dry = await run('send', SLUG, '--list', LIST, '--dry-run');
    expect(dry.stdout).toMatch(/would reach 20 active subscriber\(s\) \(de 10 · en 10\)/);
    // A time in the past is refused, in a dry run too.
    const past = await run('send', SLUG, '--list', LIST, '--dry-run', '--at', '2020-01-01T08:00:00+01:00');
    expect(past.code).toBe(1);
    expect(past.stderr).toMatch(/has already passed/);
    // A wall-clock time without a zone is read in TZ, and the send says so.
    const sent = await run('send', SLUG, '--list', LIST, '--at', '2099-11-27T07:00');
    expect(sent.code, sent.stderr).toBe(0);
    expect(sent.stderr).toMatch(/no offset or zone; read in Europe\/Berlin \(TZ\)/);
    expect(sent.stderr).toMatch(/scheduled for 2099-11-27 07:00 Europe\/Berlin \(2099-11-27 06:00 UTC\)/);
    const id = sent.stdout.trim();
    expect(id).toMatch(/^c[a-z0-9]+$/);
    const twice = await run('send', SLUG, '--list', LIST, '--again');
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain(`already being sent to list weekly: campaign ${id} is scheduled`);
    const status = await f.service.status(id);
    expect(status).toMatchObject({ state: 'scheduled', total: 20, at: '2099-11-27T06:00:00.000Z', zone: 'Europe/Berlin' });
    const line = (await run('status', id)).stdout;
    expect(line).toMatch(/scheduled for 2099-11-27 07:00 Europe\/Berlin/);
    // No worker runs for this prefix: status says so.
    expect(line).toMatch(/No worker has ever been seen/);
    expect((await run('pause', id, '--reason', 'typo')).stdout).toMatch(/paused for .* — typo/);
    const updated = await run('update', id);
    expect(updated.code, updated.stderr).toBe(0);
    expect(updated.stdout).toMatch(/de: subject unchanged/);
    expect((await run('resume', id)).stdout).toMatch(/scheduled/);
    expect((await run('cancel', id)).stdout).toMatch(/cancelled/);
    expect((await run('status', id, '--unclear')).stdout).toMatch(/no unclear recipients/);
  }, 300_000);

  it('completes after redis-server is killed and restarted (AOF) mid-send', async () => {
    const f = await fixture(800);
    sink.setDelay(3);
    try {
      const id = (await f.service.create({ slug: SLUG, list: LIST })).id!;
      f.spawnWorker();
      await waitUntil('200 mails', () => f.mails().length >= 200, 60_000, 10);
      await redis.kill();
      await sleep(500);
      await redis.restart();
      const status = await waitDone(f, id);
      expect(status).toMatchObject({ state: 'done', total: 800, remaining: 0, failed: 0 });
      expect(status.sent + status.unclear).toBe(800);
      const unclear = new Set((await f.service.unclear(id)).map((u) => u.email));
      for (const email of f.emails) {
        const n = sink.received(email);
        expect(n, email).toBeLessThanOrEqual(1);
        if (n === 0) expect(unclear.has(email)).toBe(true);
      }
    } finally {
      sink.setDelay(0);
    }
  }, 120_000);

  it('retries 421 and 451 answers with backoff until every mail is delivered once', async () => {
    const f = await fixture(400);
    const unlucky = (rcpt: string) => createHash('sha1').update(rcpt).digest()[0]! < 26; // ~10%
    const faulted = f.emails.filter(unlucky);
    expect(faulted.length).toBeGreaterThan(10);
    sink.setFault(({ rcpt, attempt }) => {
      if (!rcpt.startsWith(f.prefix) || !unlucky(rcpt) || attempt > 1) return undefined;
      return rcpt.charCodeAt(rcpt.length - 13) % 2 ? { code: 421, message: 'Service busy, closing' } : { code: 451, message: 'Try again later' };
    });
    try {
      await f.worker();
      const id = (await f.service.create({ slug: SLUG, list: LIST })).id!;
      const status = await waitDone(f, id);
      expect(status).toMatchObject({ sent: 400, failed: 0, bounced: 0, unclear: 0, remaining: 0 });
      for (const email of f.emails) expect(sink.received(email), email).toBe(1);
      for (const email of faulted) expect(sink.attempts.get(email)).toBeGreaterThanOrEqual(2);
    } finally {
      sink.setFault(undefined);
    }
  }, 60_000);

  it('marks 550 recipients bounced (ledger and subscriber), never retries them, and delivers the rest', async () => {
    const f = await fixture(300);
    const bad = new Set(f.emails.filter((_, i) => i % 10 === 7));
    sink.setFault(({ rcpt }) => (bad.has(rcpt) ? { code: 550, message: 'No such user' } : undefined));
    try {
      await f.worker();
      const id = (await f.service.create({ slug: SLUG, list: LIST })).id!;
      const status = await waitDone(f, id);
      expect(status).toMatchObject({ sent: 270, bounced: 30, failed: 0, unclear: 0, remaining: 0 });
      for (let i = 0; i < f.emails.length; i++) {
        const email = f.emails[i]!;
        if (bad.has(email)) {
          expect(sink.received(email)).toBe(0);
          expect(sink.attempts.get(email)).toBe(1);
          expect((await f.store.get(f.ids[i]!))?.status).toBe('bounced');
        } else {
          expect(sink.received(email), email).toBe(1);
        }
      }
      // A second send skips the bounced.
      const again = (await f.service.create({ slug: SLUG, list: LIST, again: true })).id!;
      expect(await waitDone(f, again)).toMatchObject({ sent: 270, skipped: 30 });
    } finally {
      sink.setFault(undefined);
    }
  }, 60_000);

  it('sends nothing to subscribers who unsubscribe mid-send, and holds a global rate across two workers', async () => {
    const f = await fixture(600);
    // One batch at a time per worker: at 100 mails only batches 0 and 1 have started, so
    // subscribers 400+ are certainly still ahead when they unsubscribe.
    await f.worker({ WORKER_CONCURRENCY: '1' });
    await f.worker({ WORKER_CONCURRENCY: '1' });
    const id = (await f.service.create({ slug: SLUG, list: LIST, rate: 200 })).id!;
    const started = Date.now();
    await waitUntil('100 mails', () => f.mails().length >= 100, 30_000, 10);
    const leaving = f.ids.slice(400);
    await Promise.all(leaving.map((sid) => f.store.unsubscribe(sid, 'one-click')));
    const atUnsubscribe = f.mails().length;
    expect(atUnsubscribe).toBeLessThan(300);
    const status = await waitDone(f, id);
    const elapsed = (Date.now() - started) / 1000;
    for (const email of f.emails.slice(400)) expect(sink.received(email), email).toBe(0);
    expect(status).toMatchObject({ sent: 400, skipped: 200, unclear: 0, remaining: 0 });
    // 400 mails at 200/s with a burst of 40: at least ~1.8 s, whatever the number of workers.
    expect(elapsed).toBeGreaterThan(1.7);
  }, 60_000);

  it('pauses within a batch, resumes without duplicates, and cancels for good', async () => {
    const f = await fixture(600);
    await f.worker();
    const id = (await f.service.create({ slug: SLUG, list: LIST, rate: 300 })).id!;
    await waitUntil('100 mails', () => f.mails().length >= 100, 30_000, 5);
    const atPause = f.mails().length;
    const paused = await f.service.pause(id, 'checking a typo');
    expect(paused.state).toBe('paused');
    await sleep(300);
    const settled = f.mails().length;
    expect(settled - atPause).toBeLessThanOrEqual(2 * 5);
    await sleep(1200);
    expect(f.mails().length).toBe(settled);
    expect(await f.service.status(id)).toMatchObject({ state: 'paused', reason: 'checking a typo' });
    await f.service.resume(id);
    const done = await waitDone(f, id);
    expect(done).toMatchObject({ sent: 600, unclear: 0, remaining: 0 });
    for (const email of f.emails) expect(sink.received(email)).toBe(1);

    const second = (await f.service.create({ slug: SLUG, list: LIST, rate: 200, again: true })).id!;
    await waitUntil('50 more mails', () => f.mails().length >= 650, 30_000, 5);
    const cancelled = await f.service.cancel(second);
    expect(cancelled.state).toBe('cancelled');
    await sleep(300);
    const frozen = f.mails().length;
    await sleep(1000);
    expect(f.mails().length).toBe(frozen);
    const status = await f.service.status(second);
    expect(status.state).toBe('cancelled');
    expect(status.remaining).toBeGreaterThan(300);
    await expect(f.service.resume(second)).rejects.toThrow(/cancelled/);
  }, 60_000);

  it('holds a scheduled send until its time', async () => {
    const f = await fixture(50);
    await f.worker();
    const at = new Date(Date.now() + 2500);
    const created = await f.service.create({ slug: SLUG, list: LIST, at: at.toISOString() });
    expect((await f.service.status(created.id!)).state).toBe('scheduled');
    await sleep(1500);
    expect(f.mails()).toHaveLength(0);
    const status = await waitDone(f, created.id!, 30_000);
    expect(status.sent).toBe(50);
    expect(Math.min(...f.mails().map((m) => m.at))).toBeGreaterThanOrEqual(at.getTime() - 50);
  }, 30_000);

  it('pauses itself after repeated connection failures and says why', async () => {
    const f = await fixture(100);
    const closedPort = await freePort();
    await f.worker({ SMTP_URL: `smtp://127.0.0.1:${closedPort}`, PAUSE_AFTER_CONNECTION_FAILURES: '5' });
    const id = (await f.service.create({ slug: SLUG, list: LIST })).id!;
    await waitUntil('auto-pause', async () => (await f.service.status(id)).state === 'paused', 30_000, 100);
    const status = await f.service.status(id);
    expect(status.reason).toMatch(/Paused after 5 connection failures in a row; last: .*ECONNREFUSED|connect/);
    expect(status).toMatchObject({ sent: 0, unclear: 0, failed: 0 });
  }, 40_000);

  it('pauses a campaign whose batch runs out of attempts, says why, and retries it on resume', async () => {
    const f = await fixture(40, { SEND_ATTEMPTS: '2', RETRY_BACKOFF_MS: '50', BATCH_SIZE: '20' });
    await f.worker();
    const id = (await f.service.create({ slug: SLUG, list: LIST, at: new Date(Date.now() + 600) })).id!;
    // Damaged frozen editions: no batch can build a message until they are repaired.
    const editions = campaignKeys(keyspace(f.prefix), id).editions;
    const intact = await redis.client().hgetall(editions);
    await redis.client().hset(editions, 'de', '{not json');
    await waitUntil('pause after failed batches', async () => (await f.service.status(id)).state === 'paused', 30_000, 100);
    const paused = await f.service.status(id);
    expect(paused.reason).toMatch(/Batch \d failed after 2 attempts: .*JSON/);
    expect(paused.sent).toBe(0);
    await redis.client().hset(editions, intact);
    await f.service.resume(id);
    expect(await waitDone(f, id, 30_000)).toMatchObject({ sent: 40, remaining: 0 });
    for (const email of f.emails) expect(sink.received(email)).toBe(1);
  }, 60_000);

  it('refuses a second send of the same issue to the same list unless --again, and lint errors; dry-run only counts', async () => {
    const f = await fixture(30);
    const dry = await f.service.create({ slug: SLUG, list: LIST, dryRun: true });
    expect(dry).toMatchObject({ id: null, dryRun: true, counts: { de: 15, en: 15 }, total: 15 + 15 });
    expect(await f.service.list()).toHaveLength(0);
    const first = await f.service.create({ slug: SLUG, list: LIST, at: new Date(Date.now() + 3_600_000) });
    // One live campaign per issue and list, --again or not.
    await expect(f.service.create({ slug: SLUG, list: LIST })).rejects.toMatchObject({ code: 'E_CONFLICT', message: expect.stringContaining(first.id!) });
    await expect(f.service.create({ slug: SLUG, list: LIST, again: true })).rejects.toMatchObject({ code: 'E_CONFLICT' });
    // A cancelled campaign that reached nobody blocks nothing.
    await f.service.cancel(first.id!);
    const second = await f.service.create({ slug: SLUG, list: LIST, at: new Date(Date.now() + 3_600_000) });
    expect(second.id).not.toBe(first.id);
    await f.service.cancel(second.id!);
    await expect(f.service.create({ slug: SLUG, list: 'nope' })).rejects.toMatchObject({ code: 'E_NOT_FOUND' });

    const deOnly = new CampaignService({
      config: f.config,
      subscribers: f.store,
      compiler: { compileForSend: async (slug) => ({ editions: (await compile(slug)).filter((e) => e.lang === 'de'), findings: [] }) },
    });
    const linty = new CampaignService({
      config: f.config,
      subscribers: f.store,
      compiler: { compileForSend: async (slug) => ({ editions: await compile(slug), findings: [{ severity: 'error', rule: 'size', message: 'HTML is 120 KB', file: 'issues/x/de.md', line: 3 }] }) },
    });
    try {
      // A missing edition no longer refuses the send: EDITION_FALLBACK decides (send-fallback.test.ts).
      expect((await deOnly.create({ slug: SLUG, list: LIST, dryRun: true })).plan).toMatchObject({ byEdition: { de: 30 }, fallback: { en: 15 }, total: 30 });
      await expect(linty.create({ slug: SLUG, list: LIST })).rejects.toMatchObject({ code: 'E_LINT', message: expect.stringContaining('issues/x/de.md:3: HTML is 120 KB') });
      // A refused preparation leaves the issue and list free.
      const third = await f.service.create({ slug: SLUG, list: LIST, at: new Date(Date.now() + 3_600_000) });
      await f.service.cancel(third.id!);
    } finally {
      await deOnly.close();
      await linty.close();
    }
  }, 30_000);
});
