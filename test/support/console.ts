import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { campaignKeys, sendKeys } from '../../src/campaign/keys.ts';
import { keyspace } from '../../src/config/redis.ts';
import { buildAdminApp } from '../../src/server/admin/app.ts';
import { RedisSubscriberStore, type UpsertRow } from '../../src/subscribers/redis-store.ts';
import { startRedis, type TestRedis } from './redis.ts';

/** The admin app over a private Redis, listening on a free loopback port: the ops console as ops see it. */
export interface TestConsole {
  url: string;
  app: FastifyInstance;
  store: RedisSubscriberStore;
  redis: Redis;
  close(): Promise<void>;
}

export async function startConsole(options: { token?: string; host?: string; server?: TestRedis } = {}): Promise<TestConsole & { server: TestRedis }> {
  const server = options.server ?? (await startRedis());
  const redis = new Redis(server.url);
  const store = new RedisSubscriberStore(redis, keyspace('depesche'));
  const app = await buildAdminApp({
    config: { ADMIN_HOST: options.host ?? '127.0.0.1', ADMIN_TOKEN: options.token },
    subscribers: store,
    redis,
    signupList: 'newsletter',
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    app,
    store,
    redis,
    server,
    async close() {
      await app.close();
      redis.disconnect();
      if (!options.server) await server.stop();
    },
  };
}

/** `count` made-up readers on `list`, 10,000 per pipelined batch; returns how long it took. */
export async function seedSubscribers(store: RedisSubscriberStore, list: string, count: number, row: (i: number) => UpsertRow): Promise<number> {
  const started = performance.now();
  for (let start = 0; start < count; start += 10_000) {
    const rows = Array.from({ length: Math.min(10_000, count - start) }, (_, k) => row(start + k));
    await store.upsertMany(rows, list);
  }
  return performance.now() - started;
}

/** Runs the index migration as the first search would (`force`: as `subscribers reindex` does); returns how long it took. */
export async function reindex(store: RedisSubscriberStore, options: { force?: boolean } = {}): Promise<number> {
  const started = performance.now();
  await store.search.rebuild((ids) => store.getMany(ids), undefined, options);
  return performance.now() - started;
}

/**
 * Two finished campaigns in the ledgers as the worker leaves them: one delivered to the
 * subscriber, a later one bounced (5.1.1); and the bounce applied to the subscriber.
 */
export async function seedDeliveries(store: RedisSubscriberStore, id: string, list: string): Promise<void> {
  const { redis, keys } = store;
  const campaigns = [
    { id: 'cmay1', slug: '2026-05-04-briefing', code: 's', at: Date.parse('2026-05-04T07:00:00Z') },
    { id: 'cmay2', slug: '2026-05-11-briefing', code: 'b', at: Date.parse('2026-05-11T07:00:00Z'), note: '550 5.1.1 <joerg.mueller@kanzlei.example>: user unknown' },
  ];
  for (const c of campaigns) {
    const k = campaignKeys(keys, c.id);
    await redis.zadd(sendKeys(keys).index, c.at, c.id);
    await redis.hset(k.meta, { id: c.id, slug: c.slug, list, state: 'done', createdAt: c.at, at: c.at, total: 1 });
    await redis.hset(k.ledger, id, c.code);
    if (c.note) await redis.hset(k.notes, id, c.note);
  }
  await store.bounce(id, { reason: campaigns[1]!.note!, source: 'smtp' });
}
