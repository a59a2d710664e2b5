import type { Redis } from 'ioredis';
import type { Keyspace } from '../config/redis.ts';
import { campaignKeys, sendKeys } from './keys.ts';
import { LEDGER_CODES } from './ledger.ts';

/** One campaign's ledger entry for one subscriber. */
export interface Delivery {
  campaign: string;
  slug: string;
  list: string;
  /** When the campaign was created (ms). */
  createdAt: number;
  /** sent, bounced, failed, unclear, skipped, previously (an earlier campaign reached them), or in flight. */
  result: string;
  /** Why it failed, bounced or is unclear, as the ledger noted it. */
  note?: string;
}

const RESULT_OF = Object.fromEntries(Object.entries(LEDGER_CODES).map(([name, code]) => [code, name])) as Record<string, string>;

/**
 * What the delivery ledgers say about one subscriber, newest campaign first: two
 * pipelined reads per campaign, over the newest `limit` campaigns.
 */
export async function deliveriesOf(redis: Redis, keys: Keyspace, id: string, limit = 200): Promise<Delivery[]> {
  const ids = await redis.zrevrange(sendKeys(keys).index, 0, limit - 1);
  if (ids.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const campaign of ids) {
    const k = campaignKeys(keys, campaign);
    pipeline.hget(k.ledger, id);
    pipeline.hget(k.notes, id);
    pipeline.hmget(k.meta, 'slug', 'list', 'createdAt');
  }
  const replies = (await pipeline.exec()) ?? [];
  const out: Delivery[] = [];
  ids.forEach((campaign, i) => {
    const [error, code] = replies[i * 3] ?? [];
    if (error) throw error;
    if (typeof code !== 'string') return;
    const note = replies[i * 3 + 1]?.[1];
    const [slug, list, createdAt] = (replies[i * 3 + 2]?.[1] ?? []) as (string | null)[];
    out.push({
      campaign,
      slug: slug ?? '',
      list: list ?? '',
      createdAt: Number(createdAt ?? 0),
      result: code.startsWith('c:') ? 'in flight' : (RESULT_OF[code] ?? code),
      ...(typeof note === 'string' && note ? { note } : {}),
    });
  });
  return out;
}
