import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keyspace } from '../src/config/redis.ts';
import { RedisSubscriberStore } from '../src/subscribers/redis-store.ts';
import { fold, wordTerms } from '../src/subscribers/search-index.ts';
import { searchSubscribers } from '../src/subscribers/subscriber-search.ts';
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
  store = new RedisSubscriberStore(redis, keyspace(`s${++n}`));
});

const emails = async (query: Parameters<typeof searchSubscribers>[1]) => (await searchSubscribers(store, query)).subscribers.map((s) => s.email);

describe('search index terms', () => {
  it('folds case, umlauts and accents the way addresses spell them', () => {
    expect(fold('  Jörg MÜLLER-Weiß ')).toBe('joerg mueller weiss');
    expect(fold('Anna.Müller+news@Firma.DE')).toBe('anna mueller news@firma de');
    expect(fold('Renée Çelik')).toBe('renee celik');
  });

  it('indexes every word start of the address and name, but not a bare top-level domain', () => {
    const terms = wordTerms('anna.mueller@firma-x.de', 'Anna Müller');
    // The name adds nothing the address does not start with already.
    expect(terms.sort()).toEqual(['firma x de', 'mueller@firma x de', 'x de']);
    expect(wordTerms('a.b@c.de', 'Jörg Weiß').sort()).toEqual(['b@c de', 'c de', 'joerg weiss', 'weiss']);
  });
});

describe('subscriber search', () => {
  beforeEach(async () => {
    await store.upsertMany(
      [
        { email: 'anna.mueller@firma.de', name: 'Anna Müller', lang: 'de' },
        { email: 'Bert.Schulz@Example.org', name: 'Bert Schulz', lang: 'en' },
        { email: 'joerg@weiss.example', name: 'Jörg Weiß', lang: 'de', status: 'bounced' },
        { email: 'muellerin@example.org', name: '', lang: 'en' },
      ],
      'weekly',
    );
  });

  it('finds by prefix and by a word inside the address or name, any case, address matches first', async () => {
    expect(await emails({ q: 'ANNA' })).toEqual(['anna.mueller@firma.de']);
    expect(await emails({ q: 'bert.sch' })).toEqual(['Bert.Schulz@example.org']);
    // "mueller" starts muellerin's address, and a word of Anna's address and name: each once.
    expect(await emails({ q: 'Mueller' })).toEqual(['muellerin@example.org', 'anna.mueller@firma.de']);
    // Word hits come in index order, which ends in the (random) id: compare as a set.
    expect((await emails({ q: 'example.org' })).sort()).toEqual(['Bert.Schulz@example.org', 'muellerin@example.org']);
    expect(await emails({ q: 'firma' })).toEqual(['anna.mueller@firma.de']);
    expect(await emails({ q: 'nobody' })).toEqual([]);
    // Separators are interchangeable: a space, a dot or a dash finds the same.
    expect(await emails({ q: 'anna mueller' })).toEqual(['anna.mueller@firma.de']);
    expect(await emails({ q: 'bert-schulz' })).toEqual(['Bert.Schulz@example.org']);
  });

  it('matches umlauts whichever way they are typed', async () => {
    expect(await emails({ q: 'Müller' })).toEqual(['muellerin@example.org', 'anna.mueller@firma.de']);
    expect(await emails({ q: 'jörg' })).toEqual(['joerg@weiss.example']);
    expect(await emails({ q: 'weiß' })).toEqual(['joerg@weiss.example']);
  });

  it('filters by list, status and language, and browses without a query', async () => {
    expect(await emails({ q: 'mueller', lang: 'de' })).toEqual(['anna.mueller@firma.de']);
    expect(await emails({ status: 'bounced' })).toEqual(['joerg@weiss.example']);
    expect(await emails({})).toHaveLength(4);
    expect(await emails({ list: 'weekly', lang: 'en' })).toEqual(['Bert.Schulz@example.org', 'muellerin@example.org']);
    expect(await emails({ list: 'other' })).toEqual([]);
  });

  it('pages with a cursor, without repeats or gaps', async () => {
    const many = Array.from({ length: 23 }, (_, i) => ({ email: `pager${String(i).padStart(2, '0')}@example.net`, name: `Pager ${i}` }));
    await store.upsertMany(many, 'weekly');
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await searchSubscribers(store, { q: 'pager', limit: 5, cursor });
      seen.push(...page.subscribers.map((s) => s.email));
      cursor = page.next;
      pages++;
    } while (cursor && pages < 20);
    expect(seen).toEqual(many.map((m) => m.email));
  });

  it('follows a rename: the old name no longer finds them, the new one does', async () => {
    expect(await emails({ q: 'joerg weiss' })).toEqual(['joerg@weiss.example']);
    await store.upsert({ email: 'JOERG@weiss.example', name: 'Jörg Krüger' });
    expect(await emails({ q: 'krueger' })).toEqual(['joerg@weiss.example']);
    expect(await emails({ q: 'joerg weiss' })).toEqual([]);
    // The old name's entries are gone from the index, not only hidden.
    const words = await redis.zrange(store.search.key('word'), '0', '-1');
    expect(words.some((w) => w.startsWith('joerg weiss'))).toBe(false);
    expect(words.some((w) => w.startsWith('joerg krueger'))).toBe(true);
  });

  it('keeps nothing of an erased subscriber in the index', async () => {
    const anna = await store.findByEmail('anna.mueller@firma.de');
    // An entry of a name she had before, left behind (say, by a crash mid-rename).
    await redis.zadd(store.search.key('word'), 0, `anna maiden\0${anna!.id}`);
    await store.forget(anna!.id, { by: 'test', reason: 'asked to be forgotten' });
    expect(await emails({ q: 'anna' })).toEqual([]);
    await store.search.settled();
    const entries = [...(await redis.zrange(store.search.key('email'), '0', '-1')), ...(await redis.zrange(store.search.key('word'), '0', '-1'))];
    expect(entries.filter((e) => e.endsWith(anna!.id))).toEqual([]);
    expect(entries.join('\n')).not.toMatch(/anna|firma|maiden/);
  });

  it('indexes an address that arrives through the sign-up form', async () => {
    await store.request({
      email: 'neu@leser.example', name: 'Neue Leserin', lang: 'de', lists: ['weekly'], ip: '192.0.2.1', formUrl: 'https://x.example/',
      wording: { version: '1', lang: 'de', text: 'Ja', hash: 'sha256:x' }, source: 'form', ttlMs: 60_000, resendAfterMs: 0,
    });
    expect(await emails({ q: 'leserin' })).toEqual(['neu@leser.example']);
  });

  it('rebuilds the index for data from before it, and hides entries that went stale', async () => {
    await redis.del(store.search.key('email'), store.search.key('word'));
    expect(await emails({ q: 'bert' })).toEqual([]);
    expect(await store.search.ready()).toBe(false);
    const count = await store.search.rebuild((ids) => store.getMany(ids));
    expect(count).toBe(4);
    // With an entry per address the migration only marks the index built; a forced
    // rebuild (`subscribers reindex`) re-adds everything, word entries included.
    await redis.del(store.search.key('word'));
    expect(await store.search.rebuild(() => Promise.reject(new Error('must not read')))).toBe(4);
    expect(await emails({ q: 'schulz' })).toEqual([]);
    expect(await store.search.rebuild((ids) => store.getMany(ids), undefined, { force: true })).toBe(4);
    expect(await emails({ q: 'schulz' })).toEqual(['Bert.Schulz@example.org']);
    expect(await store.search.ready()).toBe(true);
    expect(await emails({ q: 'bert' })).toEqual(['Bert.Schulz@example.org']);
    // An entry left behind (say, by a crash) for a subscriber who is gone never shows.
    await redis.zadd(store.search.key('email'), 0, 'bert.ghost@example.org\0aaaaaaaaaaaa');
    expect(await emails({ q: 'bert' })).toEqual(['Bert.Schulz@example.org']);
  });
});
