import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignRepository } from '../src/campaign/campaigns.ts';
import { RedisLedger } from '../src/campaign/ledger.ts';
import { createRedis, keyspace } from '../src/config/index.ts';
import { startRedis, type TestRedis } from './support/redis.ts';

let server: TestRedis;
let redis: Redis;
const keys = keyspace('ledgertest');
let ledger: RedisLedger;
let campaigns: CampaignRepository;
const send = { mode: 'send' as const, globalRate: 0, campaignRate: 0 };

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
async function campaign(): Promise<string> {
  const id = `c${++n}`;
  await campaigns.create({ id, slug: 's', list: 'l', state: 'scheduled', createdAt: Date.now(), at: Date.now(), langs: ['de'], expected: 3 }, []);
  await campaigns.start(id);
  return id;
}

describe('delivery ledger', () => {
  it('claims once; the same run may repeat its claim and mark (a command re-sent after a Redis restart)', async () => {
    const id = await campaign();
    expect(await ledger.claim(id, 'run1', 'a', send)).toEqual({ kind: 'claimed' });
    expect(await ledger.claim(id, 'run1', 'a', send)).toEqual({ kind: 'claimed' });
    await ledger.mark(id, 'run1', 'a', 'sent');
    await ledger.mark(id, 'run1', 'a', 'sent');
    expect(await ledger.claim(id, 'run2', 'a', send)).toEqual({ kind: 'done', state: 's' });
    expect(await campaigns.get(id)).toMatchObject({ sent: 1, unclear: 0 });
  });

  it('turns a claim left by a dead run into unclear, never into a second send, and resends it only on purpose', async () => {
    const id = await campaign();
    await ledger.claim(id, 'dead', 'b', send);
    expect(await ledger.claim(id, 'next', 'b', send)).toEqual({ kind: 'done', state: 'u' });
    expect(await ledger.claim(id, 'later', 'b', send)).toEqual({ kind: 'done', state: 'u' });
    // The dead run's late mark changes nothing.
    await ledger.mark(id, 'dead', 'b', 'sent');
    expect(await campaigns.get(id)).toMatchObject({ sent: 0, unclear: 1 });
    expect(await ledger.unclear(id)).toEqual(['b']);
    expect(await ledger.claim(id, 'resend', 'b', { ...send, mode: 'resend' })).toEqual({ kind: 'claimed' });
    await ledger.mark(id, 'resend', 'b', 'sent');
    expect(await campaigns.get(id)).toMatchObject({ sent: 1, unclear: 0 });
    expect(await ledger.unclear(id)).toEqual([]);
    // A resend claims only the unclear.
    expect(await ledger.claim(id, 'resend2', 'b', { ...send, mode: 'resend' })).toEqual({ kind: 'done', state: 's' });
  });

  it('gives a claim back after a 4xx so the retry sends it, and pauses the campaign after N connection failures', async () => {
    const id = await campaign();
    for (let i = 0; i < 3; i++) {
      await ledger.claim(id, `r${i}`, 'c', send);
      await ledger.release(id, `r${i}`, 'c', { connectionFailure: true, pauseAfter: 3, reason: 'SMTP down' });
    }
    expect(await ledger.stateOf(id, 'c')).toBeNull();
    expect(await campaigns.get(id)).toMatchObject({ state: 'paused', reason: 'SMTP down' });
    expect(await ledger.claim(id, 'r9', 'c', send)).toEqual({ kind: 'halt', state: 'paused' });
  });

  it('rate-limits claims across callers with a token bucket kept in Redis', async () => {
    const id = await campaign();
    const rate = { mode: 'send' as const, globalRate: 0, campaignRate: 10 };
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await ledger.claim(id, 'r', `x${i}`, rate));
    // Burst of rate/5 = 2, then a wait of about 100 ms per message.
    expect(results.slice(0, 2)).toEqual([{ kind: 'claimed' }, { kind: 'claimed' }]);
    expect(results[2]).toMatchObject({ kind: 'wait' });
    expect((results[2] as { ms: number }).ms).toBeGreaterThan(50);
    expect((results[2] as { ms: number }).ms).toBeLessThanOrEqual(100);
  });
});
