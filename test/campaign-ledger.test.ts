import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignRepository } from '../src/campaign/campaigns.ts';
import { campaignKeys, sendKeys } from '../src/campaign/keys.ts';
import { assertNotPruned, pruneLedgers } from '../src/campaign/retention.ts';
import { RedisLedger } from '../src/campaign/ledger.ts';
import { createRedis, keyspace } from '../src/config/index.ts';
import { RedisSubscriberStore } from '../src/subscribers/redis-store.ts';
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

describe('group claims and grouped marks (one Redis call for many recipients)', () => {
  const store = () => new RedisSubscriberStore(redis, keys);
  const evalCalls = async () => Number(/cmdstat_evalsha:calls=(\d+)/.exec(await redis.info('commandstats'))?.[1] ?? 0);

  it('claims a group with each record as it stood, skips the inactive without a token, and reports the rest', async () => {
    const rows = ['ann', 'ben', 'cid', 'dora', 'eve', 'fay'].map((name) => ({ email: `${name}-${n}@example.org`, name, lang: 'en' as const }));
    const made = await store().upsertMany(rows, 'l', { defaultStatus: 'active' });
    const [ann, ben, cid, dora, eve, fay] = made.map((r) => r.id) as [string, string, string, string, string, string];
    const [gus] = (await store().upsertMany([{ email: `gus-${n}@example.org`, name: 'gus', lang: 'de' }], 'l', { defaultStatus: 'active' })).map((r) => r.id);
    const [hal] = (await store().upsertMany([{ email: `hal-${n}@example.org`, name: 'hal', lang: 'en' }], 'other', { defaultStatus: 'active' })).map((r) => r.id);
    await store().setStatus(cid, 'unsubscribed');
    const id = await campaign();
    await ledger.claim(id, 'before', dora, send);
    await ledger.mark(id, 'before', dora, 'sent');
    await liveRun('other');
    await ledger.claim(id, 'other', eve, send);
    // Campaign rate 10 a second: a burst of 2 tokens; only English readers get an edition.
    const rate = { ...send, campaignRate: 10, list: 'l', sendLangs: ['en' as const] };
    const answer = await ledger.claimMany(id, 'run', [ann, cid, 'not-an-id', gus!, hal!, dora, eve, ben, fay], rate);
    if (answer.kind !== 'ok') throw new Error(`unexpected ${answer.kind}`);
    expect(answer.entries).toEqual([
      { kind: 'claimed', recipient: { id: ann, email: rows[0]!.email, name: 'ann', lang: 'en', status: 'active', lists: ['l'] } },
      { kind: 'skipped', reason: 'inactive' },
      { kind: 'skipped', reason: 'inactive' },
      { kind: 'skipped', reason: 'no-edition' },
      { kind: 'skipped', reason: 'left-list' },
      { kind: 'done', state: 's' },
      { kind: 'busy' },
      { kind: 'claimed', recipient: expect.objectContaining({ id: ben, name: 'ben' }) },
      { kind: 'wait' },
    ]);
    // fay's token is reserved (the bucket goes below zero) and paid for after the wait.
    expect(answer.reserved).toBe(1);
    expect(answer.waitMs).toBeGreaterThan(50);
    expect(answer.waitMs).toBeLessThanOrEqual(100);
    expect(await ledger.stateOf(id, cid)).toBe('skipped');
    expect(await campaigns.get(id)).toMatchObject({ skipped: 4 });
    expect(await redis.hmget(campaignKeys(keys, id).meta, 'skipped:inactive', 'skipped:no-edition', 'skipped:left-list')).toEqual(['2', '1', '1']);
    // Asking again for its own claims costs this run no token; the waiting one gets its token after the wait.
    const again = await ledger.claimMany(id, 'run', [ann, ben], rate);
    expect(again).toMatchObject({ kind: 'ok', waitMs: 0, entries: [{ kind: 'claimed' }, { kind: 'claimed' }] });
    await new Promise((r) => setTimeout(r, answer.waitMs));
    // Without its reservation, another caller at this moment finds the bucket empty …
    expect(await ledger.claimMany(id, 'run', [fay], rate)).toMatchObject({ kind: 'ok', reserved: 1, entries: [{ kind: 'wait' }] });
    // … with it, fay is claimed at once.
    expect(await ledger.claimMany(id, 'run', [fay], { ...rate, prepaid: 1 })).toMatchObject({ kind: 'ok', reserved: 0, entries: [{ kind: 'claimed' }] });
    await campaigns.pause(id, 'stop');
    expect(await ledger.claimMany(id, 'run', [fay], rate)).toEqual({ kind: 'halt', state: 'paused' });
  });

  it('writes the marks of one event-loop turn in one call, counting failure streaks in order', async () => {
    const id = await campaign();
    for (const x of ['m1', 'm2', 'm3', 'm4']) await ledger.claim(id, 'r', x, send);
    const before = await evalCalls();
    const results = await Promise.all([
      ledger.release(id, 'r', 'm1', { streak: 'conn' }),
      ledger.release(id, 'r', 'm2', { streak: 'conn' }),
      ledger.mark(id, 'r', 'm3', 'sent', { streak: 'reset' }),
      ledger.mark(id, 'r', 'm4', 'bounced', { note: '550 5.1.1 no such user' }),
      ledger.mark(id, 'other-run', 'm4', 'sent'),
    ]);
    expect(await evalCalls()).toBe(before + 1);
    expect(results).toEqual([{ ok: true, streak: 1 }, { ok: true, streak: 2 }, { ok: true, streak: 0 }, { ok: true, streak: 0 }, { ok: false, streak: 0 }]);
    expect(await campaigns.get(id)).toMatchObject({ sent: 1, bounced: 1 });
    expect(await Promise.all(['m1', 'm2', 'm3', 'm4'].map((x) => ledger.stateOf(id, x)))).toEqual([null, null, 'sent', 'bounced']);
    // The streak went on from where the call left it.
    await ledger.claim(id, 'r', 'm1', send);
    expect((await ledger.release(id, 'r', 'm1', { streak: 'conn' })).streak).toBe(1);
  });

  it('makes groups held back by the rate limit sleep for the time the bucket names: no storm of refused claims', async () => {
    const rows = Array.from({ length: 40 }, (_, i) => ({ email: `rate${i}-${n}@example.org`, lang: 'de' as const }));
    const ids = (await store().upsertMany(rows, 'l', { defaultStatus: 'active' })).map((r) => r.id);
    const id = await campaign();
    const rate = { ...send, campaignRate: 20, list: 'l', sendLangs: ['de' as const, 'en' as const] };
    let calls = 0;
    const started = Date.now();
    // Four batches at once, in groups of five, as a worker runs them.
    await Promise.all(
      [0, 1, 2, 3].map(async (b) => {
        for (let g = 0; g < 2; g++) {
          let pending = ids.slice(b * 10 + g * 5, b * 10 + g * 5 + 5);
          let prepaid = 0;
          while (pending.length > 0) {
            calls++;
            const answer = await ledger.claimMany(id, `r${b}`, pending, { ...rate, prepaid });
            if (answer.kind !== 'ok') throw new Error(answer.kind);
            pending = pending.filter((_, i) => answer.entries[i]!.kind === 'wait');
            prepaid = answer.reserved;
            if (pending.length > 0) await new Promise((r) => setTimeout(r, answer.waitMs));
          }
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    // 40 claims at 20/s with a burst of 4: at least 1.8 s. A group that finds too few
    // tokens reserves the rest and sleeps until they are paid: at most two calls a group.
    expect(seconds).toBeGreaterThan(1.7);
    expect(calls).toBeLessThanOrEqual(16);
    expect(await ledger.unclear(id)).toEqual([]);
  });
});

describe('ledger retention', () => {
  it('reduces a finished ledger past retention to counts and the bounced, failed and unclear readers; a send to the rest refuses it', async () => {
    const id = await campaign();
    const live = await campaign();
    for (const [x, outcome] of [['s1', 'sent'], ['s2', 'sent'], ['b1', 'bounced'], ['f1', 'failed'], ['u1', 'unclear'], ['k1', 'skipped']] as const) {
      await ledger.claim(id, 'r', x, send);
      await ledger.mark(id, 'r', x, outcome, outcome === 'sent' || outcome === 'skipped' ? {} : { note: `why ${x}` });
    }
    await ledger.claim(live, 'r', 'x', send);
    await ledger.mark(live, 'r', 'x', 'sent');
    await campaigns.cancel(id, 'enough');
    const counts = { sent: 2, bounced: 1, failed: 1, unclear: 1, skipped: 1 };
    expect(await campaigns.get(id)).toMatchObject(counts);

    // Other tests' campaigns share the keyspace; only this one's lines count.
    const mine = (found: { id: string; entries: number; dropped: number }[]) => found.filter((c) => c.id === id || c.id === live).map((c) => [c.id, c.entries, c.dropped]);
    // Not yet: it ended just now.
    expect(mine(await pruneLedgers(redis, keys, { retentionDays: 365 }))).toEqual([]);
    const later = Date.now() + 366 * 86_400_000;
    const dry = await pruneLedgers(redis, keys, { retentionDays: 365, now: later, dryRun: true });
    expect(mine(dry)).toEqual([[id, 6, 0]]);
    expect(await redis.hlen(campaignKeys(keys, id).ledger)).toBe(6);

    const pruned = await pruneLedgers(redis, keys, { retentionDays: 365, now: later });
    expect(mine(pruned)).toEqual([[id, 6, 3]]);
    expect(await redis.hgetall(campaignKeys(keys, id).ledger)).toEqual({ b1: 'b', f1: 'f', u1: 'u' });
    expect(await ledger.unclear(id)).toEqual([{ id: 'u1', cause: 'why u1' }]);
    expect(await campaigns.get(id)).toMatchObject(counts);
    // The sending campaign keeps everything; a second prune finds nothing more.
    expect(await ledger.stateOf(live, 'x')).toBe('sent');
    expect(mine(await pruneLedgers(redis, keys, { retentionDays: 365, now: later }))).toEqual([]);
    await expect(assertNotPruned(redis, keys, [live, id])).rejects.toThrow(/ledger was pruned on .*send to the rest cannot leave them out/);
    await assertNotPruned(redis, keys, [live]);
  });
});
