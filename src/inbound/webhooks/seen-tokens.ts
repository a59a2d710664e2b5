import type { Redis } from 'ioredis';
import type { Keyspace } from '../../config/redis.ts';
import type { SeenTokens } from '../types.ts';

/** Seen tokens in this process only: enough for one app process and for tests. */
export class MemorySeenTokens implements SeenTokens {
  readonly #until = new Map<string, number>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async claim(token: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    // Forget what has expired, so the map stays as small as the window.
    for (const [t, until] of this.#until) if (until <= now) this.#until.delete(t);
    if ((this.#until.get(token) ?? 0) > now) return false;
    this.#until.set(token, now + ttlMs);
    return true;
  }

  async release(token: string): Promise<void> {
    this.#until.delete(token);
  }
}

/**
 * Seen tokens in Redis (`SET NX PX`), shared by every app process behind a load balancer,
 * so a replay to another process is caught too.
 */
export class RedisSeenTokens implements SeenTokens {
  readonly #redis: Redis;
  readonly #keys: Keyspace;

  constructor(redis: Redis, keys: Keyspace) {
    this.#redis = redis;
    this.#keys = keys;
  }

  async claim(token: string, ttlMs: number): Promise<boolean> {
    return (await this.#redis.set(this.#keys.key('webhook-seen', token), '1', 'PX', ttlMs, 'NX')) === 'OK';
  }

  async release(token: string): Promise<void> {
    await this.#redis.del(this.#keys.key('webhook-seen', token));
  }
}
