import type { Keyspace } from '../config/redis.ts';

/**
 * Every Redis key the campaign code uses, in one place. All live under the installation's
 * hash tag, so a script may touch several at once (Redis Cluster keeps them on one slot),
 * and scripts get each of them in KEYS: no key name is ever built inside Lua.
 */

/** Keys of one campaign. */
export function campaignKeys(keys: Keyspace, id: string) {
  return {
    /** Hash: the campaign's fields, state and counters. */
    meta: keys.key('campaign', id),
    /** Hash: lang → frozen edition (JSON). */
    editions: keys.key('campaign', id, 'editions'),
    /** Hash: subscriber id → ledger code (see ledger.ts). */
    ledger: keys.key('campaign', id, 'ledger'),
    /** Set: subscriber ids held as unclear. */
    unclear: keys.key('campaign', id, 'unclear'),
    /** Hash: subscriber id → why they are unclear, failed or bounced. */
    notes: keys.key('campaign', id, 'notes'),
    /** Set: batch numbers that finished. */
    done: keys.key('campaign', id, 'batches-done'),
    /** Hash: batch number → batch job data of batches parked while the campaign is paused. */
    parked: keys.key('campaign', id, 'parked'),
    /** Hash: this campaign's token bucket (`--rate`). */
    bucket: keys.key('campaign', id, 'rate'),
  };
}

export type CampaignKeys = ReturnType<typeof campaignKeys>;

/** Keys shared by every campaign of one installation. */
export function sendKeys(keys: Keyspace) {
  return {
    /** Sorted set: campaign ids by creation time. */
    index: keys.key('campaigns'),
    /** String: the id of the one live campaign of an issue to a list. */
    live: (slug: string, list: string) => keys.key('live', list, slug),
    /** Set: every campaign ever made of an issue, to any list. */
    history: (slug: string) => keys.key('issue', slug, 'campaigns'),
    /** Hash: worker id → when its heartbeat runs out (ms since the epoch). */
    workers: keys.key('workers'),
    /** Hash: worker id → `host pid`, for ops. */
    workerInfo: keys.key('workers', 'info'),
    /** Hash: batch run id → when its heartbeat runs out; a claim's holder is alive while it has not. */
    runs: keys.key('runs'),
    /** Hash: the global token bucket (SEND_RATE). */
    globalBucket: keys.key('rate', 'global'),
  };
}

export type SendKeys = ReturnType<typeof sendKeys>;
