import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keyspace } from '../src/config/redis.ts';
import { RedisSubscriberStore } from '../src/subscribers/redis-store.ts';
import { startRedis, type TestRedis } from './support/redis.ts';

let server: TestRedis;
let redis: Redis;
let store: RedisSubscriberStore;
let n = 0;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});
beforeEach(() => {
  // A fresh prefix per test keeps tests independent without flushing.
  store = new RedisSubscriberStore(redis, keyspace(`t${++n}`));
});

describe('RedisSubscriberStore', () => {
  it('keeps addresses unique case-insensitively and upserts idempotently', async () => {
    const a = await store.upsert({ email: ' Anna.Meier@Example.ORG ', name: 'Anna', lang: 'de' }, 'weekly');
    expect(a.outcome).toBe('created');
    expect(a.joined).toBe(true);
    expect(a.subscriber).toMatchObject({ email: 'Anna.Meier@example.org', name: 'Anna', lang: 'de', status: 'active', lists: ['weekly'] });

    const again = await store.upsert({ email: 'anna.meier@example.org', name: 'Anna', lang: 'de' }, 'weekly');
    expect(again).toMatchObject({ id: a.id, outcome: 'unchanged', joined: false });

    const switched = await store.upsert({ email: 'ANNA.MEIER@EXAMPLE.ORG', lang: 'en' }, 'weekly');
    expect(switched).toMatchObject({ id: a.id, outcome: 'updated' });
    expect(switched.subscriber.name).toBe('Anna');
    expect(await store.findByEmail('anna.MEIER@example.org')).toMatchObject({ id: a.id, lang: 'en' });
    expect((await store.lists())[0]).toMatchObject({ name: 'weekly', total: 1, byLang: { de: 0, en: 1 }, activeByLang: { de: 0, en: 1 } });
  });

  it('makes one subscriber of an address that several writers create at once', async () => {
    const writers = Array.from({ length: 8 }, () => new RedisSubscriberStore(redis, store.keys));
    const results = await Promise.all(writers.map((w, i) => w.upsertMany([{ email: 'race@example.org', name: `Writer ${i}` }, { email: `own-${i}@example.org` }], 'race')));
    const ids = new Set(results.map((r) => r[0]!.id));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r[0]!.outcome === 'created')).toHaveLength(1);
    expect((await store.lists())[0]).toMatchObject({ name: 'race', total: 9 });
    expect([...ids][0]).toMatch(/^[a-z2-7]{12}$/);
  });

  it('pages a list in join order by cursor, without gaps or repeats', async () => {
    const emails = Array.from({ length: 23 }, (_, i) => ({ email: `p${i}@example.org`, lang: (i % 3 === 0 ? 'en' : 'de') as 'de' | 'en' }));
    const results = await store.upsertMany(emails, 'big');
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { ids: string[]; next: string | null } = await store.page('big', cursor, 5);
      seen.push(...page.ids);
      cursor = page.next;
      pages++;
    } while (cursor !== null);
    expect(pages).toBe(5);
    expect(seen).toEqual(results.map((r) => r.id));

    // Removing a member mid-iteration does not shift the others.
    const first = await store.page('big', null, 5);
    await store.removeFromList(seen[2]!, 'big');
    const second = await store.page('big', first.next, 5);
    expect(second.ids).toEqual(seen.slice(5, 10));
    expect(await store.page('missing', null, 5)).toEqual({ ids: [], next: null });
    await expect(store.page('big', 'abc', 5)).rejects.toThrow(/cursor/);
  });

  it('keeps counts by status and language exact through every change', async () => {
    const [a, b, c] = await store.upsertMany(
      [{ email: 'a@example.org', lang: 'de' }, { email: 'b@example.org', lang: 'en' }, { email: 'c@example.org', lang: 'de', status: 'pending' }],
      'one',
    );
    await store.addToList(a!.id, 'two');
    await store.unsubscribe(a!.id, 'one-click');
    await store.setLang(b!.id, 'de', { via: 'preferences' });
    // An imported pending subscriber confirms as links mailed before requests had nonces did.
    expect(await store.confirmRequest(c!.id, '', '192.0.2.1')).toMatchObject({ outcome: 'confirmed', previousStatus: 'pending' });
    await store.setStatus(b!.id, 'bounced', '550 no such user');
    const [one, two] = await store.lists();
    expect(one).toMatchObject({
      name: 'one',
      total: 3,
      byStatus: { active: 1, unsubscribed: 1, bounced: 1, pending: 0, complained: 0 },
      byLang: { de: 3, en: 0 },
      activeByLang: { de: 1, en: 0 },
    });
    expect(two).toMatchObject({ name: 'two', total: 1, byStatus: { unsubscribed: 1 } });
    expect(await store.countActiveByLang('one')).toEqual({ de: 1, en: 0 });

    await store.removeFromList(c!.id, 'one');
    expect((await store.lists())[0]).toMatchObject({ total: 2, activeByLang: { de: 0, en: 0 } });
    expect(await store.removeFromList(c!.id, 'one')).toBe(false);
  });

  it('makes an unsubscribe visible to the next getMany, and never resubscribes on re-upsert', async () => {
    const [a, b] = await store.upsertMany([{ email: 'x@example.org' }, { email: 'y@example.org' }], 'l');
    await store.unsubscribe(a!.id, 'one-click');
    const [x, y, missing] = await store.getMany([a!.id, b!.id, '999999']);
    expect(x).toMatchObject({ status: 'unsubscribed', unsubscribedVia: 'one-click' });
    expect(x!.unsubscribedAt).toMatch(/^\d{4}-/);
    expect(y!.status).toBe('active');
    expect(missing).toBeNull();

    const re = await store.upsert({ email: 'x@example.org', status: 'active' }, 'l');
    expect(re.subscriber.status).toBe('unsubscribed');
    // A suppression in an import does apply over active.
    const sup = await store.upsert({ email: 'y@example.org', status: 'bounced' }, 'l');
    expect(sup).toMatchObject({ outcome: 'updated' });
    expect(sup.subscriber.status).toBe('bounced');
  });

  it('applies a request only with its own nonce, once, and keeps the consent record', async () => {
    const wording = { version: 'v1', lang: 'en' as const, text: 'Yes, mail me.', hash: 'sha256:abc' };
    const request = (email: string, extra: Partial<Parameters<typeof store.request>[0]> = {}) =>
      store.request({ email, name: 'Zed', lang: 'en', requestedLang: 'en', lists: ['weekly'], ip: '198.51.100.7', formUrl: 'https://news.example.org/', wording, source: 'form', ttlMs: 86_400_000, resendAfterMs: 600_000, ...extra });
    const first = await request('z@example.org');
    expect(first.outcome).toBe('mail');
    if (first.outcome !== 'mail') return;
    expect(first.id).toMatch(/^[a-z2-7]{12}$/);
    // New, and on no list until confirmed.
    expect(await store.get(first.id)).toMatchObject({ status: 'pending', lists: [], name: 'Zed', request: { lists: ['weekly'], source: 'form' } });
    expect(await store.countActiveByLang('weekly')).toEqual({ de: 0, en: 0 });
    // Within the resend window nothing is stored and nothing mailed, from any IP.
    expect((await request('Z@example.org', { ip: '203.0.113.1', lists: ['other'] })).outcome).toBe('throttled');
    await store.requestMailed(first.id, first.nonce, { messageId: '<confirm.1@example.org>' });

    expect(await store.confirmRequest(first.id, 'not-the-nonce', '198.51.100.8')).toEqual({ outcome: 'gone' });
    expect(await store.confirmRequest(first.id, first.nonce, '198.51.100.8')).toMatchObject({ outcome: 'confirmed', previousStatus: 'pending', joined: ['weekly'] });
    const s = await store.get(first.id);
    expect(s).toMatchObject({
      status: 'active',
      lists: ['weekly'],
      consent: { source: 'form', signupIp: '198.51.100.7', confirmedIp: '198.51.100.8', formUrl: 'https://news.example.org/', wording: { version: 'v1', hash: 'sha256:abc' }, confirmationMessageId: '<confirm.1@example.org>' },
    });
    expect(s!.request).toBeUndefined();
    const log = await store.consentLog(first.id);
    expect(log.map((e) => e.event)).toEqual(['requested', 'confirmation-sent', 'confirmed']);
    expect(log[2]).toMatchObject({ ip: '198.51.100.8', messageId: '<confirm.1@example.org>', lists: ['weekly'], request: { ip: '198.51.100.7', formUrl: 'https://news.example.org/' }, wording: { version: 'v1', hash: 'sha256:abc' } });
    expect(await store.countActiveByLang('weekly')).toEqual({ de: 0, en: 1 });

    // Used once, dead; an unsubscribe also kills whatever link is still out there.
    expect(await store.confirmRequest(first.id, first.nonce, '198.51.100.8')).toEqual({ outcome: 'gone' });
    await store.unsubscribe(first.id, 'page');
    expect(await store.confirmRequest(first.id, first.nonce, '198.51.100.8')).toEqual({ outcome: 'gone' });
    expect(await store.confirmRequest(first.id, '', '198.51.100.8')).toEqual({ outcome: 'gone' });
    expect((await store.get(first.id))!.status).toBe('unsubscribed');
  });

  it('remembers a list the reader left: no import puts them back, and leaving the last list unsubscribes', async () => {
    const [a] = await store.upsertMany([{ email: 'leaver@example.org' }], 'one');
    await store.addToList(a!.id, 'two');
    expect(await store.leaveList(a!.id, 'one', { via: 'one-click', byReader: true })).toEqual({ wasMember: true, status: 'active' });
    const again = await store.upsertMany([{ email: 'leaver@example.org', status: 'active' }], 'one');
    expect(again[0]).toMatchObject({ joined: false, keptOff: true });
    expect((await store.get(a!.id))!.lists).toEqual(['two']);
    expect(await store.leaveList(a!.id, 'two', { via: 'page', byReader: true })).toEqual({ wasMember: true, status: 'unsubscribed' });
    expect(Object.keys((await store.get(a!.id))!.left).sort()).toEqual(['one', 'two']);
    // Ops may put a reader back on purpose, and only on purpose.
    expect(await store.addToList(a!.id, 'one', { rejoin: true })).toBe(true);
    expect((await store.lists()).map((l) => [l.name, l.total])).toEqual([['one', 1], ['two', 0]]);
  });

  it('lets ops reactivate a bounce but never an unsubscribe or a complaint', async () => {
    const [a, b, c] = await store.upsertMany([{ email: 'b1@example.org' }, { email: 'b2@example.org' }, { email: 'b3@example.org' }], 'l');
    await store.bounce(a!.id, { reason: '550 5.1.1 no such user', source: 'smtp' });
    await store.unsubscribe(b!.id, 'one-click');
    await store.complain(c!.id, { reason: 'ARF abuse report', source: 'inbound' });
    const ops = { by: 'cli:ops', reason: 'mailbox fixed, reader phoned' };
    expect(await store.reactivate(a!.id, ops)).toBe('changed');
    await expect(store.reactivate(b!.id, ops)).rejects.toThrow(/unsubscribed/);
    await expect(store.reactivate(c!.id, ops)).rejects.toThrow(/complained/);
    // A bounce after a complaint changes nothing: the complaint is final.
    expect(await store.bounce(c!.id, { reason: '550', source: 'smtp' })).toBe('unchanged');
    expect((await store.consentLog(a!.id)).map((e) => [e.event, e.by])).toEqual([['bounced', undefined], ['reactivated', 'cli:ops']]);
    expect((await store.lists())[0]).toMatchObject({ byStatus: { active: 1, unsubscribed: 1, complained: 1, bounced: 0 } });
  });

  it('keeps lists private unless made public, except the default list', async () => {
    await store.upsertMany([{ email: 'v@example.org' }], 'imported');
    expect(await store.visibility(['imported', 'newsletter', 'missing'], 'newsletter')).toEqual({ imported: 'private', newsletter: 'public', missing: 'private' });
    expect(await store.publicLists('newsletter')).toEqual(['newsletter']);
    await store.setVisibility('imported', 'public', { by: 'cli:ops', reason: 'open it' });
    await store.setVisibility('newsletter', 'private', { by: 'cli:ops', reason: 'closed' });
    expect(await store.publicLists('newsletter')).toEqual(['imported']);
    expect((await store.opsLog()).map((e) => [e.event, e.list, e.via])).toEqual([['list-visibility', 'imported', 'public'], ['list-visibility', 'newsletter', 'private']]);
  });

  it('moves counts kept per list (the layout before random ids) into one hash, once', async () => {
    const ks = keyspace(`legacy${n}`);
    await redis.sadd(ks.key('lists'), 'old');
    await redis.hset(ks.key('list', 'old', 'counts'), 'active:de', 3, 'unsubscribed:en', 1);
    const legacy = new RedisSubscriberStore(redis, ks);
    expect(await legacy.countActiveByLang('old')).toEqual({ de: 3, en: 0 });
    expect((await legacy.lists())[0]).toMatchObject({ name: 'old', total: 4 });
    expect(await redis.exists(ks.key('list', 'old', 'counts'))).toBe(0);
    // A second store (another process) does not move them again.
    expect(await new RedisSubscriberStore(redis, ks).countActiveByLang('old')).toEqual({ de: 3, en: 0 });
  });

  it('rejects bad addresses, names with line breaks and bad list names', async () => {
    await expect(store.upsert({ email: 'not-an-address' })).rejects.toThrow(/not a valid address/);
    await expect(store.upsert({ email: 'ok@example.org', name: 'Eve\r\nBcc: x@evil.test' })).rejects.toThrow(/line breaks/);
    await expect(store.upsert({ email: 'ok@example.org' }, 'bad list')).rejects.toThrow(/list must be/);
    expect(await store.findByEmail('ok@example.org')).toBeNull();
    await expect(store.setStatus('424242', 'bounced')).rejects.toThrow(/No subscriber/);
    // Ids that are not the store's own cannot reach other keys.
    const { id } = await store.upsert({ email: 'real@example.org' }, 'l');
    expect(await store.get(`${id}:log`)).toBeNull();
    expect(await store.getMany([`${id}:log`, id])).toEqual([null, expect.objectContaining({ id })]);
    await expect(store.unsubscribe('../1', 'cli')).rejects.toThrow(/No subscriber/);
  });

  it('survives a Redis restart: data kept (AOF), scripts reloaded on their own', async () => {
    const { id } = await store.upsert({ email: 'restart@example.org', lang: 'en' }, 'r');
    await server.kill();
    await server.restart();
    expect(await store.get(id)).toMatchObject({ email: 'restart@example.org', lang: 'en' });
    // The restarted server has an empty script cache: EVALSHA fails with NOSCRIPT and
    // ioredis must fall back to EVAL.
    const again = await store.upsert({ email: 'restart2@example.org' }, 'r');
    await store.unsubscribe(id, 'cli');
    expect(again.outcome).toBe('created');
    expect((await store.lists())[0]).toMatchObject({ total: 2, byStatus: { active: 1, unsubscribed: 1 } });
  });

  it('forgets a subscriber entirely on request, keeping the counts right', async () => {
    const { id } = await store.upsert({ email: 'Gone@Example.org', lang: 'en', source: 'form', consent: { signupIp: '192.0.2.1' } }, 'a');
    await store.addToList(id, 'b');
    const kept = await store.upsert({ email: 'kept@example.org', lang: 'en' }, 'a');
    expect(await store.forget(id, { by: 'cli:ops', reason: 'reader asked (ticket 42)' })).toBe(true);
    expect(await store.get(id)).toBeNull();
    expect(await store.findByEmail('gone@example.org')).toBeNull();
    expect(await store.consentLog(id)).toEqual([]);
    expect(await store.page('a', null, 10)).toEqual({ ids: [kept.id], next: null });
    expect((await store.lists()).map((l) => [l.name, l.total, l.activeByLang.en])).toEqual([['a', 1, 1], ['b', 0, 0]]);
    expect(await store.forget(id)).toBe(false);
    expect((await store.opsLog()).map((e) => [e.event, e.by, e.reason])).toEqual([['erased', 'cli:ops', 'reader asked (ticket 42)']]);
    // The address can come back, as a new subscriber.
    expect((await store.upsert({ email: 'gone@example.org' }, 'a')).outcome).toBe('created');
  });

  it('keeps every key under the hash-tagged prefix', async () => {
    const ks = keyspace('tagcheck');
    const own = new RedisSubscriberStore(redis, ks);
    const { id } = await own.upsert({ email: 'k@example.org', source: 'form', consent: { signupIp: '192.0.2.9' } }, 'l');
    await own.unsubscribe(id, 'page');
    const keys = await redis.keys('*tagcheck*');
    expect(keys.length).toBeGreaterThan(4);
    for (const key of keys) expect(key.startsWith('{tagcheck}:')).toBe(true);
  });
});
