import type { Redis } from 'ioredis';
import type { Keyspace } from '../config/redis.ts';

/**
 * Totals of what came back, by kind and where it was read, for `/metrics`
 * (`depesche_returns_total{kind,source}`): one Redis hash, so every worker and every
 * `depesche inbound` adds to the same figures and any admin app reports them all.
 *
 * Kinds: `hard-bounce`, `soft-bounce`, `rejection` (policy or reputation), `complaint`,
 * `unsubscribe`, and `unmatched` (a report from mail that named its reader only by address,
 * kept and changing nobody: `trust.ts`). Sources: `send` (the SMTP answer during the send), or the return path's
 * receiver (`smtp`, `imap`, `ses`, `postmark`, `mailgun`).
 */

export type ReturnKind = 'hard-bounce' | 'soft-bounce' | 'rejection' | 'complaint' | 'unsubscribe' | 'unmatched';

export class ReturnCounts {
  readonly #redis: Redis;
  readonly #key: string;

  constructor(redis: Redis, keys: Keyspace) {
    this.#redis = redis;
    this.#key = keys.key('returns', 'counts');
  }

  async add(kind: ReturnKind, source: string): Promise<void> {
    await this.#redis.hincrby(this.#key, `${kind}|${source}`, 1);
  }

  async read(): Promise<{ kind: string; source: string; count: number }[]> {
    const hash = await this.#redis.hgetall(this.#key);
    return Object.entries(hash).map(([field, value]) => {
      const [kind = '', source = ''] = field.split('|');
      return { kind, source, count: Number(value) };
    });
  }
}
