import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { keyspace } from '../src/config/redis.ts';
import { RedisSubscriberStore } from '../src/subscribers/redis-store.ts';
import { startRedis, type TestRedis } from './support/redis.ts';

// A 60-bit random id meeting an existing one is too rare to wait for: the id source is
// made to hand out chosen ids first (the one mock here injects that fault).
const forced: string[] = [];
vi.mock('../src/subscribers/ids.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../src/subscribers/ids.ts')>();
  return {
    ...real,
    newSubscriberIds: (count: number) => real.newSubscriberIds(count).map((id) => forced.shift() ?? id),
  };
});

let server: TestRedis;
let redis: Redis;

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
});

describe('a new id that is taken already', () => {
  it('never merges two readers: the row is run again with another id, its neighbours are kept', async () => {
    const store = new RedisSubscriberStore(redis, keyspace('collide'));
    forced.push('aaaaaaaaaaaa');
    const [anna] = await store.upsertMany([{ email: 'anna@example.org', name: 'Anna', lang: 'en' }], 'weekly');
    expect(anna!.id).toBe('aaaaaaaaaaaa');

    // Three new rows in one script call; the middle one draws Anna's id.
    forced.push('bbbbbbbbbbbb', 'aaaaaaaaaaaa', 'cccccccccccc');
    const rows = await store.upsertMany([{ email: 'bert@example.org' }, { email: 'carla@example.org', name: 'Carla' }, { email: 'dora@example.org' }], 'weekly');
    expect(rows.map((r) => r.outcome)).toEqual(['created', 'created', 'created']);
    expect(rows[0]!.id).toBe('bbbbbbbbbbbb');
    expect(rows[1]!.id).not.toBe('aaaaaaaaaaaa');
    expect(rows[2]!.id).toBe('cccccccccccc');

    expect(await store.get('aaaaaaaaaaaa')).toMatchObject({ email: 'anna@example.org', name: 'Anna', lang: 'en' });
    expect(await store.get(rows[1]!.id)).toMatchObject({ email: 'carla@example.org', name: 'Carla', lists: ['weekly'] });
    expect((await store.lists())[0]).toMatchObject({ name: 'weekly', total: 4 });
  });
});
