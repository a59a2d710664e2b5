import { createServer, connect, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyspace } from '../src/config/index.ts';
import { ReturnCounts } from '../src/inbound/counts.ts';
import { fixedCompiler, LIST, makeFixture, sleep, tinyEditions, waitDone, waitUntil, type FixtureHost } from './support/campaign.ts';
import { freePort } from './support/ports.ts';
import { startRedis, type TestRedis } from './support/redis.ts';
import { startSmtp, type TestSmtp } from './support/smtp.ts';

/**
 * What the worker does with each SMTP answer during a send (RFC 3463 classes through the
 * table in transport/smtp-answers.ts), and the two pauses: policy rejections (waits for ops)
 * and an outage (resumes by itself).
 */

const SLUG = '2026-02-22-china-ai2x';

let redis: TestRedis;
let sink: TestSmtp<undefined>;
const cleanups: (() => Promise<void>)[] = [];
const host: FixtureHost = { redis: () => redis, sink: () => sink, compiler: fixedCompiler((slug) => tinyEditions(slug)), cleanups };

beforeAll(async () => {
  [redis, sink] = await Promise.all([startRedis(), startSmtp({ parse: false })]);
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await sink?.close();
  await redis?.stop();
});

/** A TCP proxy in front of the SMTP sink that can play an outage: connections refused, open ones cut. */
async function outageProxy(target: number): Promise<{ url: string; down(): Promise<void>; up(): Promise<void>; close(): Promise<void> }> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  const up = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(target, '127.0.0.1');
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => {});
        }
        client.pipe(upstream).pipe(client);
      });
      server.listen(port, '127.0.0.1', resolve);
    });
  const down = () =>
    new Promise<void>((resolve) => {
      for (const s of sockets) s.destroy();
      if (!server) return resolve();
      server.close(() => resolve());
      server = undefined;
    });
  await up();
  return { url: `smtp://127.0.0.1:${port}`, down, up, close: down };
}

describe('SMTP answers during a send', () => {
  it('reads each answer by its enhanced code and text: dead mailboxes bounce, a full one and a policy refusal fail with the reader active', async () => {
    const f = await makeFixture(host, 6);
    const answers: Record<number, { code: number; message: string }> = {
      0: { code: 550, message: '5.1.1 The email account that you tried to reach does not exist.' },
      1: { code: 550, message: '5.4.1 Recipient address rejected: Access denied. AS(201806281) [DB8EUR05FT011.eop-eur05.prod.protection.outlook.com]' },
      2: { code: 552, message: '5.2.2 <reader@example.net>: Mailbox full, over quota' },
      3: { code: 554, message: '5.7.1 Service unavailable; Client host [203.0.113.5] blocked using zen.spamhaus.org' },
    };
    const index = new Map(f.emails.map((e, i) => [e, i]));
    sink.setFault(({ rcpt, attempt }) => {
      const i = index.get(rcpt);
      if (i === undefined) return undefined;
      if (i === 4 && attempt === 1) return { code: 451, message: '4.7.1 Greylisted, try again later' };
      return answers[i];
    });
    try {
      const id = (await f.service.create({ slug: SLUG, list: LIST })).id!;
      await f.worker();
      expect(await waitDone(f, id, 60_000)).toMatchObject({ sent: 2, bounced: 2, failed: 2, unclear: 0 });
      const status = async (i: number) => (await f.store.get(f.ids[i]!))!.status;
      expect([await status(0), await status(1), await status(2), await status(3), await status(4), await status(5)]).toEqual(['bounced', 'bounced', 'active', 'active', 'active', 'active']);
      expect(await f.service.ledger.stateOf(id, f.ids[3]!)).toBe('failed');
      expect(sink.received(f.emails[4]!)).toBe(1);
      const counts = await new ReturnCounts(redis.client(), keyspace(f.prefix)).read();
      expect(Object.fromEntries(counts.map((c) => [`${c.kind}|${c.source}`, c.count]))).toEqual({ 'hard-bounce|send': 2, 'soft-bounce|send': 1, 'rejection|send': 1 });
    } finally {
      sink.setFault(undefined);
    }
  }, 90_000);

  it('full mailboxes at send time count toward SOFT_BOUNCE_LIMIT: the second bounces the reader, and the ledger says so', async () => {
    const f = await makeFixture(host, 2, { SOFT_BOUNCE_LIMIT: '2' });
    const full = f.emails[0]!;
    sink.setFault(({ rcpt }) => (rcpt === full ? { code: 552, message: '5.2.2 <reader@example.net>: Mailbox full, over quota' } : undefined));
    try {
      await f.worker();
      const first = (await f.service.create({ slug: SLUG, list: LIST })).id!;
      expect(await waitDone(f, first, 60_000)).toMatchObject({ sent: 1, failed: 1, bounced: 0 });
      expect((await f.store.get(f.ids[0]!))!.status).toBe('active');
      const second = (await f.service.create({ slug: SLUG, list: LIST, again: true })).id!;
      await waitDone(f, second, 60_000);
      await waitUntil('reader bounced', async () => (await f.store.get(f.ids[0]!))!.status === 'bounced', 10_000);
      expect(await f.service.status(second)).toMatchObject({ sent: 1, failed: 0, bounced: 1 });
      expect((await f.store.consentLog(f.ids[0]!)).at(-1)).toMatchObject({ event: 'bounced', via: 'send' });
      expect((await f.store.get(f.ids[1]!))!.status).toBe('active');
    } finally {
      sink.setFault(undefined);
    }
  }, 90_000);

  it('554 5.7.1 to every recipient: nobody bounced, the campaign pauses with a reason that says what it means, and waits for ops', async () => {
    const f = await makeFixture(host, 30, { PAUSE_AFTER_POLICY_REJECTIONS: '5', AUTO_RESUME_DELAY_MS: '1000', SMTP_POOL_SIZE: '1', WORKER_CONCURRENCY: '1' });
    const ours = new Set(f.emails);
    sink.setFault(({ rcpt }) => (ours.has(rcpt) ? { code: 554, message: '5.7.1 Message rejected: sending IP listed on a blacklist (reputation)' } : undefined));
    try {
      const id = (await f.service.create({ slug: SLUG, list: LIST })).id!;
      await f.worker();
      await waitUntil('paused', async () => (await f.service.status(id)).state === 'paused', 30_000);
      const paused = await f.service.status(id);
      expect(paused.reason).toMatch(/^Paused after 5 policy rejections in a row: .*nobody was bounced\. Last: 554 5\.7\.1 .*depesche resume/);
      expect(paused.bounced).toBe(0);
      expect(paused.failed).toBeGreaterThanOrEqual(5);
      // In flight when it paused: at most the worker's in-flight bound more than the limit.
      expect(paused.failed).toBeLessThanOrEqual(5 + 2);
      for (const sid of f.ids) expect((await f.store.get(sid))!.status).toBe('active');
      // No automatic resume for a policy pause, even well after AUTO_RESUME_DELAY_MS.
      await sleep(2500);
      // Answers still in flight when the pause landed are recorded after it: read again.
      const settled = await f.service.status(id);
      expect(settled.state).toBe('paused');
      expect(settled.failed).toBeLessThanOrEqual(5 + 2);

      // Ops fix it and resume: the rest get their mail, nobody twice.
      sink.setFault(undefined);
      await f.service.resume(id);
      const done = await waitDone(f, id, 60_000);
      expect(done).toMatchObject({ bounced: 0, sent: 30 - settled.failed, failed: settled.failed, unclear: 0 });
      for (const email of f.emails) expect(sink.received(email)).toBeLessThanOrEqual(1);
    } finally {
      sink.setFault(undefined);
    }
  }, 90_000);

  it('a 10-second SMTP outage: the campaign pauses, resumes by itself with backoff, and completes; everyone gets one mail', async () => {
    const proxy = await outageProxy(sink.port);
    cleanups.push(() => proxy.close());
    const f = await makeFixture(host, 40, {
      SMTP_URL: proxy.url,
      PAUSE_AFTER_CONNECTION_FAILURES: '3',
      AUTO_RESUME_DELAY_MS: '1000',
      AUTO_RESUME_ATTEMPTS: '8',
      SEND_ATTEMPTS: '20',
      RETRY_BACKOFF_MS: '200',
    });
    await proxy.down();
    const started = Date.now();
    const id = (await f.service.create({ slug: SLUG, list: LIST })).id!;
    await f.worker();
    const states = new Set<string>();
    const reasons = new Set<string>();
    const watch = setInterval(() => {
      f.service.status(id).then((s) => {
        states.add(s.state);
        if (s.reason) reasons.add(s.reason);
      }, () => {});
    }, 100);
    try {
      await waitUntil('paused by the outage', async () => (await f.service.status(id)).state === 'paused', 20_000);
      await sleep(Math.max(0, 10_000 - (Date.now() - started)));
      await proxy.up();
      const done = await waitDone(f, id, 60_000);
      expect(done).toMatchObject({ sent: 40, failed: 0, bounced: 0, unclear: 0 });
      for (const email of f.emails) expect(sink.received(email)).toBe(1);
      expect([...reasons].some((r) => /^Paused after 3 connection failures in a row; last: .*Resumes by itself in \d+ s \(automatic resume 1 of 8\)/.test(r))).toBe(true);
      expect(states.has('sending')).toBe(true);
      // Backoff: 1 + 2 + 4 + 8 s covers the outage; it took about that, not minutes.
      expect(Date.now() - started).toBeLessThan(45_000);
    } finally {
      clearInterval(watch);
    }
  }, 120_000);
});
