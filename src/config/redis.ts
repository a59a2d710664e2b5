import { Redis, type RedisOptions } from 'ioredis';
import type { Config } from './schema.ts';

/**
 * Builds keys under one hash-tagged prefix, `{depesche}:…`, so every key of one
 * installation hashes to the same Redis Cluster slot and multi-key scripts work.
 */
export interface Keyspace {
  readonly prefix: string;
  /** `{prefix}` — pass this as BullMQ's `prefix` so queue keys share the slot. */
  readonly tag: string;
  key(...parts: (string | number)[]): string;
}

export function keyspace(prefix: string): Keyspace {
  const tag = `{${prefix}}`;
  return { prefix, tag, key: (...parts) => [tag, ...parts].join(':') };
}

/**
 * One ioredis connection. BullMQ needs `maxRetriesPerRequest: null` on the connections
 * it blocks on; plain commands keep the default so a dead Redis fails fast with an error.
 */
export function createRedis(config: Pick<Config, 'REDIS_URL'>, options: RedisOptions = {}): Redis {
  return new Redis(config.REDIS_URL, { lazyConnect: false, ...options });
}
