import type { Redis } from 'ioredis';
import type { Keyspace } from '../config/redis.ts';
import { DepescheError } from '../errors.ts';
import { campaignKeys, sendKeys } from './keys.ts';

/**
 * Ledger retention. A campaign's ledger holds an entry per recipient (about 60 bytes each
 * in Redis); kept for ever, every send would add its whole list again. So a campaign that
 * ended (done or cancelled) more than LEDGER_RETENTION_DAYS ago (default 365) keeps only
 * what ops still ask about: its counters (in the campaign's hash, untouched) and the
 * bounced, failed and unclear recipients with their notes. Sent, skipped and
 * reached-before entries go. The frozen editions stay: the archive shows them.
 *
 * A pruned campaign can no longer say whom it reached, so a send to the rest refuses to
 * build on one (assertNotPruned). A bounce that comes back after pruning finds no `sent`
 * entry to correct and is left as it is (the subscriber's status is set all the same).
 */

/** Ledger codes that pruning drops: sent, skipped, reached before. */
const DROPPED = new Set(['s', 'k', 'p']);
const DAY_MS = 86_400_000;

export interface PruneCandidate {
  id: string;
  slug: string;
  list: string;
  state: string;
  finishedAt: number;
  /** Ledger entries before pruning. */
  entries: number;
  /** Entries dropped (0 in a dry run). */
  dropped: number;
}

export interface PruneOptions {
  /** Prune campaigns that ended at least this many days ago. */
  retentionDays: number;
  /** Only find them. */
  dryRun?: boolean;
  now?: number;
}

/** Finds (and unless `dryRun`, prunes) every campaign whose ledger is past retention. */
export async function pruneLedgers(redis: Redis, keys: Keyspace, options: PruneOptions): Promise<PruneCandidate[]> {
  const cutoff = (options.now ?? Date.now()) - options.retentionDays * DAY_MS;
  const ids = await redis.zrange(sendKeys(keys).index, '0', '-1');
  const found: PruneCandidate[] = [];
  for (const id of ids) {
    const k = campaignKeys(keys, id);
    const [state, finishedAt, prunedAt, slug, list] = await redis.hmget(k.meta, 'state', 'finishedAt', 'prunedAt', 'slug', 'list');
    const ended = Number(finishedAt);
    if (prunedAt || (state !== 'done' && state !== 'cancelled') || !ended || ended > cutoff) continue;
    const candidate: PruneCandidate = { id, slug: slug ?? '', list: list ?? '', state: state ?? '', finishedAt: ended, entries: await redis.hlen(k.ledger), dropped: 0 };
    if (!options.dryRun) candidate.dropped = await pruneOne(redis, k);
    found.push(candidate);
  }
  return found;
}

/**
 * Marks the campaign pruned first (so no send to the rest starts on it meanwhile), then
 * walks its ledger a thousand entries at a time: Redis never blocks on a large one.
 */
async function pruneOne(redis: Redis, k: ReturnType<typeof campaignKeys>): Promise<number> {
  await redis.hset(k.meta, 'prunedAt', Date.now());
  let cursor = '0';
  let dropped = 0;
  do {
    const [next, flat] = await redis.hscan(k.ledger, cursor, 'COUNT', 1000);
    cursor = next;
    const gone: string[] = [];
    for (let i = 0; i < flat.length; i += 2) if (DROPPED.has(flat[i + 1]!)) gone.push(flat[i]!);
    if (gone.length > 0) dropped += await redis.hdel(k.ledger, ...gone);
  } while (cursor !== '0');
  return dropped;
}

/** A send to the rest needs to know whom each earlier campaign reached: refuses pruned ones. */
export async function assertNotPruned(redis: Redis, keys: Keyspace, ids: string[]): Promise<void> {
  for (const id of ids) {
    const prunedAt = await redis.hget(campaignKeys(keys, id).meta, 'prunedAt');
    if (prunedAt) {
      throw new DepescheError('E_CONFLICT', `Campaign ${id}'s ledger was pruned on ${new Date(Number(prunedAt)).toISOString().slice(0, 10)}: it no longer says whom it reached, so a send to the rest cannot leave them out.`, {
        hint: 'Send the issue with --again to the whole list, or to a list of the readers you mean.',
      });
    }
  }
}
