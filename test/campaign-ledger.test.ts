import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignRepository } from '../src/campaign/campaigns.ts';
import { sendKeys } from '../src/campaign/keys.ts';
import { RedisLedger } from '../src/campaign/ledger.ts';
import { createRedis, keyspace } from '../src/config/index.ts';
import { startRedis, type TestRedis } from './support/redis.ts';

let server: TestRedis;
let redis: Redis;
const keys = keyspace('ledgertest');
let ledger: RedisLedger;
let campaigns: CampaignRepository;
const send = { mode: 'send' as const, globalRate: 0, campaignRate: 0, version: 1 };

beforeAll(async () => {
  server = await startRedis();
  redis = createRedis({ REDIS_URL: server.url });
  ledger = new RedisLedger(redis, keys);
  campaigns = new CampaignRepository(redis, keys);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

let n = 0;
/** A sending campaign, as create + freeze + the fan-out's start make it. */
async function campaign(slug = `s${n + 1}`, list = 'l', mode: 'new' | 'again' | 'rest' = 'again', restOf?: string[]): Promise<string> {
  const id = `c${++n}`;
  await campaigns.reserve({ id, slug, list, mode, createdAt: Date.now(), at: Date.now(), expected: 3, ...(restOf ? { restOf } : {}) });
  await campaigns.freeze(id, slug, list, []);
  await campaigns.start(id);
  return id;
}

/** A run whose heartbeat lasts `ms`. */
async function liveRun(run: string, ms = 60_000): Promise<void> {
  await redis.hset(sendKeys(keys).runs, run, String(Date.now() + ms));
}

describe('delivery ledger', () => {
  it('claims once; the same run may repeat its claim and mark (a command re-sent after a Redis restart)', async () => {
    const id = await campaign();
    expect(await ledger.claim(id, 'run1', 'a', send)).toEqual({ kind: 'claimed' });
    expect(await ledger.claim(id, 'run1', 'a', send)).toEqual({ kind: 'claimed' });
    expect((await ledger.mark(id, 'run1', 'a', 'sent')).ok).toBe(true);
    expect((await ledger.mark(id, 'run1', 'a', 'sent')).ok).toBe(false);
    expect(await ledger.claim(id, 'run2', 'a', send)).toEqual({ kind: 'done', state: 's' });
    expect(await campaigns.get(id)).toMatchObject({ sent: 1, unclear: 0 });
  });

  it('leaves a live run its claim, turns a dead run\'s claim unclear (with the cause), never into a second send, and resends only on purpose', async () => {
    const id = await campaign();
    await liveRun('alive');
    await ledger.claim(id, 'alive', 'b', send);
    expect(await ledger.claim(id, 'next', 'b', send)).toEqual({ kind: 'busy' });
    // Its heartbeat runs out: the worker died between handing the mail over and recording the answer.
    await redis.hset(sendKeys(keys).runs, 'alive', String(Date.now() - 1));
    expect(await ledger.claim(id, 'next', 'b', send)).toEqual({ kind: 'done', state: 'u' });
    expect(await ledger.claim(id, 'later', 'b', send)).toEqual({ kind: 'done', state: 'u' });
    // The dead run's late mark changes nothing.
    expect((await ledger.mark(id, 'alive', 'b', 'sent')).ok).toBe(false);
    expect(await campaigns.get(id)).toMatchObject({ sent: 0, unclear: 1 });
    expect(await ledger.unclear(id)).toEqual([{ id: 'b', cause: 'worker died' }]);
    // A run that ended without recording its answer (no heartbeat entry at all).
    await ledger.claim(id, 'ended', 'b2', send);
    expect(await ledger.claim(id, 'next', 'b2', send)).toEqual({ kind: 'done', state: 'u' });
    expect(await ledger.unclear(id)).toContainEqual({ id: 'b2', cause: 'answer not recorded' });

    expect(await ledger.claim(id, 'resend', 'b', { ...send, mode: 'resend' })).toEqual({ kind: 'claimed' });
    await ledger.mark(id, 'resend', 'b', 'sent');
    expect(await campaigns.get(id)).toMatchObject({ sent: 1, unclear: 1 });
    expect(await ledger.unclear(id)).toEqual([{ id: 'b2', cause: 'answer not recorded' }]);
    // A resend claims only the unclear.
    expect(await ledger.claim(id, 'resend2', 'b', { ...send, mode: 'resend' })).toEqual({ kind: 'done', state: 's' });
  });

  it('gives a claim back after a 4xx so the retry sends it, and counts connection failures in a row', async () => {
    const id = await campaign();
    const streaks = [];
    for (let i = 0; i < 3; i++) {
      await ledger.claim(id, `r${i}`, 'c', send);
      streaks.push((await ledger.release(id, `r${i}`, 'c', { streak: 'conn' })).streak);
    }
    expect(streaks).toEqual([1, 2, 3]);
    expect(await ledger.stateOf(id, 'c')).toBeNull();
    await ledger.claim(id, 'r9', 'c', send);
    await ledger.mark(id, 'r9', 'c', 'sent', { streak: 'reset' });
    await ledger.claim(id, 'r9', 'd', send);
    expect((await ledger.release(id, 'r9', 'd', { streak: 'conn' })).streak).toBe(1);
  });

  it('moves a sent entry to bounced later with the counters (a bounce that comes back days after)', async () => {
    const id = await campaign();
    await ledger.claim(id, 'r', 'e', send);
    await ledger.mark(id, 'r', 'e', 'sent');
    expect(await campaigns.get(id)).toMatchObject({ sent: 1, bounced: 0 });
    expect(await ledger.amend(id, 'e', 'sent', 'bounced', '550 5.1.1 no such user (DSN)')).toBe(true);
    expect(await ledger.amend(id, 'e', 'sent', 'bounced')).toBe(false);
    expect(await campaigns.get(id)).toMatchObject({ sent: 0, bounced: 1 });
    expect(await ledger.stateOf(id, 'e')).toBe('bounced');
    await ledger.skip(id, 'f', 'send');
    expect(await ledger.stateOf(id, 'f')).toBe('skipped');
    await ledger.fail(id, 'g', 'unreadable');
    expect(await campaigns.get(id)).toMatchObject({ sent: 0, bounced: 1, skipped: 1, failed: 1 });
  });

  it('halts claims of a paused campaign and asks for the new editions after an update', async () => {
    const id = await campaign();
    await campaigns.pause(id, 'typo');
    expect(await ledger.claim(id, 'r', 'h', send)).toEqual({ kind: 'halt', state: 'paused' });
    expect(await campaigns.updateEditions(id, [])).toBe(2);
    await campaigns.resume(id);
    expect(await ledger.claim(id, 'r', 'h', send)).toEqual({ kind: 'stale', version: 2 });
    expect(await ledger.claim(id, 'r', 'h', { ...send, version: 2 })).toEqual({ kind: 'claimed' });
  });

  it('leaves out readers an earlier campaign reached when sending to the rest', async () => {
    const first = await campaign('rest-issue', 'l');
    await ledger.claim(first, 'r', 'sent', send);
    await ledger.mark(first, 'r', 'sent', 'sent');
    await ledger.claim(first, 'r', 'failed', send);
    await ledger.mark(first, 'r', 'failed', 'failed');
    await campaigns.cancel(first, 'half way');
    const rest = await campaign('rest-issue', 'l', 'rest', [first]);
    const options = { ...send, restOf: [first] };
    expect(await ledger.claim(rest, 'r2', 'sent', options)).toEqual({ kind: 'done', state: 'p' });
    expect(await ledger.claim(rest, 'r2', 'failed', options)).toEqual({ kind: 'claimed' });
    expect(await ledger.claim(rest, 'r2', 'new', options)).toEqual({ kind: 'claimed' });
    expect(await campaigns.get(rest)).toMatchObject({ previously: 1 });
    expect(await ledger.reachedBy([first], ['sent', 'failed', 'new'])).toBe(1);
  });

  it('rate-limits claims across callers with a token bucket kept in Redis', async () => {
    const id = await campaign();
    const rate = { ...send, campaignRate: 10 };
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await ledger.claim(id, 'r', `x${i}`, rate));
    // Burst of rate/5 = 2, then a wait of about 100 ms per message.
    expect(results.slice(0, 2)).toEqual([{ kind: 'claimed' }, { kind: 'claimed' }]);
    expect(results[2]).toMatchObject({ kind: 'wait' });
    expect((results[2] as { ms: number }).ms).toBeGreaterThan(50);
    expect((results[2] as { ms: number }).ms).toBeLessThanOrEqual(100);
  });
});
