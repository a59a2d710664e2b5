import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { CampaignRepository } from '../campaign/campaigns.ts';
import { RedisLedger, type Ledger } from '../campaign/ledger.ts';
import { messageIdClaims } from '../campaign/message-id.ts';
import type { Keyspace } from '../config/redis.ts';
import type { Config } from '../config/schema.ts';
import { RedisSubscriberStore, type SubscriberRecord } from '../subscribers/redis-store.ts';
import { ReturnCounts, type ReturnKind } from './counts.ts';
import { softBounceVerdict, type SoftBounceRule } from './soft-bounces.ts';
import { unmatchedReason } from './trust.ts';
import type { ActionableEvent, BounceEvent, ComplaintEvent, MessageIdResolver, ReaderRef, RejectionEvent, ReturnSink, ReturnSource, SinkOutcome, UnsubscribeEvent } from './types.ts';

/**
 * The return path's sink over the real stores: what a bounce, complaint, rejection or mailto
 * unsubscribe does to a subscriber (their states, `states.ts`) and to the campaign's ledger
 * entry (`ledger.amend`, which moves the counters along). It behaves as `MemoryReturnSink`
 * spells out; the differences are only where things are kept.
 *
 * Idempotent by event key: a key is taken (SET NX) before the event is applied and given
 * back when applying fails, so a report delivered twice changes nothing the second time and a
 * report whose first delivery hit a Redis error is applied on the next. Soft bounces are a
 * sorted set per reader whose members are event keys, so even a race between two deliveries
 * of one report counts it once.
 */

export interface RedisReturnSinkDeps {
  redis: Redis;
  keys: Keyspace;
  store: RedisSubscriberStore;
  ledger: Ledger;
  campaigns: Pick<CampaignRepository, 'get'>;
  softBounces: SoftBounceRule;
  /** Totals for /metrics; every applied event adds one. */
  counts?: Pick<ReturnCounts, 'add'>;
  now?: () => number;
}

/** How long an event key is remembered: longer than any sender retries a report. */
const SEEN_TTL_S = 30 * 86_400;

/** How the subscriber's log names the way a report came: `mail` for SMTP and IMAP, `send` for the answer during the send, else the provider. */
function viaOf(source: ReturnSource): string {
  return source === 'smtp' || source === 'imap' ? 'mail' : source;
}

const inCampaign = (ref: ReaderRef) => (ref.campaignId ? ` (campaign ${ref.campaignId})` : '');

export class RedisReturnSink implements ReturnSink {
  readonly #deps: RedisReturnSinkDeps;
  readonly #now: () => number;

  constructor(deps: RedisReturnSinkDeps) {
    this.#deps = deps;
    this.#now = deps.now ?? Date.now;
  }

  #seenKey(key: string): string {
    return this.#deps.keys.key('returns', 'seen', createHash('sha256').update(key).digest('base64url').slice(0, 32));
  }

  async #find(ref: ReaderRef): Promise<SubscriberRecord | null> {
    const { store } = this.#deps;
    if (ref.subscriberId) return store.get(ref.subscriberId);
    if (ref.email) return store.findByEmail(ref.email);
    return null;
  }

  /**
   * Runs `apply` at most once per event key, for a reader that exists; counts what it applied.
   * An unmatched report (`trust.ts`) is counted once and applies nothing, whether or not the
   * address is a subscriber's (the answer must not tell a forger which addresses are).
   */
  async #once(event: ActionableEvent, kind: ReturnKind, apply: (reader: SubscriberRecord) => Promise<SinkOutcome>): Promise<SinkOutcome> {
    const unmatched = unmatchedReason(event);
    if (unmatched) {
      const taken = await this.#deps.redis.set(this.#seenKey(event.key), '1', 'EX', SEEN_TTL_S, 'NX');
      if (taken !== 'OK') return { status: 'duplicate' };
      await this.#deps.counts?.add('unmatched', event.source);
      return { status: 'unmatched', detail: unmatched };
    }
    const reader = await this.#find(event.reader);
    if (!reader) return { status: 'unknown-reader' };
    const seen = this.#seenKey(event.key);
    const taken = await this.#deps.redis.set(seen, '1', 'EX', SEEN_TTL_S, 'NX');
    if (taken !== 'OK') return { status: 'duplicate' };
    try {
      const outcome = await apply(reader);
      if (outcome.status === 'applied') await this.#deps.counts?.add(kind, event.source);
      return outcome;
    } catch (error) {
      // Not applied: the report comes again (the receiver answers 451) and must not look like a duplicate then.
      await this.#deps.redis.del(seen).catch(() => {});
      throw error;
    }
  }

  /** Moves the campaign's ledger entry of this reader to `to` from whichever of `from` it is in. */
  async #amend(ref: ReaderRef, subscriberId: string, from: ('sent' | 'failed')[], to: 'bounced' | 'failed', note: string): Promise<boolean> {
    if (!ref.campaignId) return false;
    for (const state of from) {
      if (await this.#deps.ledger.amend(ref.campaignId, subscriberId, state, to, note)) return true;
    }
    return false;
  }

  /** Soft bounces of this reader inside the window, this one included (idempotent by event key). */
  async #softCount(reader: SubscriberRecord, event: BounceEvent): Promise<number> {
    const { redis, keys, softBounces } = this.#deps;
    const key = keys.key('returns', 'soft', reader.id);
    const at = Date.parse(event.at) || this.#now();
    const earlier = await redis.zrangebyscore(key, '-inf', '+inf', 'WITHSCORES');
    const times: number[] = [];
    for (let i = 0; i < earlier.length; i += 2) if (earlier[i] !== event.key) times.push(Number(earlier[i + 1]));
    const verdict = softBounceVerdict(times, at, softBounces);
    const since = at - softBounces.days * 86_400_000;
    await redis
      .multi()
      .zadd(key, at, event.key)
      .zremrangebyscore(key, '-inf', `(${since}`)
      .pexpire(key, softBounces.days * 86_400_000)
      .exec();
    return verdict.count;
  }

  async bounce(event: BounceEvent): Promise<SinkOutcome> {
    return this.#once(event, event.severity === 'hard' ? 'hard-bounce' : 'soft-bounce', async (reader) => {
      const rule = this.#deps.softBounces;
      let reason = `hard bounce: ${event.reason}`;
      if (event.severity === 'soft') {
        const count = await this.#softCount(reader, event);
        reason = `soft bounce ${count} of ${rule.limit} in ${rule.days} days: ${event.reason}`;
        if (count < rule.limit) {
          const amended = await this.#amend(event.reader, reader.id, ['sent'], 'failed', reason);
          return { status: 'applied', detail: `${reason}; reader stays active${amended ? ', ledger: sent → failed' : ''}` };
        }
      }
      // The soft bounces that added up to this are spent: after ops reactivate the reader, counting starts again.
      if (event.severity === 'soft') await this.#deps.redis.del(this.#deps.keys.key('returns', 'soft', reader.id));
      const amended = await this.#amend(event.reader, reader.id, ['sent', 'failed'], 'bounced', reason);
      const ledgerNote = amended ? '; ledger: → bounced' : '';
      const changed = await this.#deps.store.transition(reader.id, 'bounce', {
        reason: `${reason}${inCampaign(event.reader)}`,
        via: viaOf(event.source),
        source: event.source,
      });
      if (changed !== 'changed') return { status: amended ? 'applied' : 'unchanged', detail: `reader was ${reader.status}, stays so${ledgerNote}` };
      return { status: 'applied', detail: `reader bounced (${reason})${ledgerNote}` };
    });
  }

  async rejection(event: RejectionEvent): Promise<SinkOutcome> {
    return this.#once(event, 'rejection', async (reader) => {
      const amended = await this.#amend(event.reader, reader.id, ['sent'], 'failed', `rejected: ${event.reason}`);
      return { status: amended ? 'applied' : 'unchanged', detail: `delivery refused by policy; reader stays active${amended ? '; ledger: sent → failed' : ''}` };
    });
  }

  async complaint(event: ComplaintEvent): Promise<SinkOutcome> {
    return this.#once(event, 'complaint', async (reader) => {
      const changed = await this.#deps.store.transition(reader.id, 'complain', {
        reason: `${event.feedbackType} complaint via ${event.reporter ?? event.source}${inCampaign(event.reader)}`,
        via: viaOf(event.source),
        source: event.source,
      });
      return changed === 'changed' ? { status: 'applied', detail: 'reader complained; never mailed again' } : { status: 'unchanged', detail: `reader was ${reader.status}` };
    });
  }

  async unsubscribe(event: UnsubscribeEvent): Promise<SinkOutcome> {
    return this.#once(event, 'unsubscribe', async (reader) => {
      const campaign = event.reader.campaignId ? await this.#deps.campaigns.get(event.reader.campaignId) : null;
      const lists = event.legacy || !campaign ? [...reader.lists] : [campaign.list];
      const left: string[] = [];
      const why = event.legacy ? 'mail to the token-less unsubscribe address' : `mail to the unsubscribe address${inCampaign(event.reader)}`;
      for (const list of lists) {
        const result = await this.#deps.store.leaveList(reader.id, list, { via: 'mail', byReader: true, actor: { by: 'reader', reason: why } });
        if (result !== 'done-before' && result.wasMember) left.push(list);
      }
      if (left.length === 0) return { status: 'unchanged', detail: 'not on that list' };
      return { status: 'applied', detail: `left ${left.join(', ')} via mail${event.legacy ? ' (token-less address)' : ''}` };
    });
  }
}

/**
 * Original Message-IDs back to campaign and reader: the scheme is the campaign code's
 * (`message-id.ts`), and only ids whose campaign has a ledger entry for that reader count,
 * so a made-up Message-ID names nobody. A Message-ID is not signed: a reader knows the
 * campaign id from their own copy, so a decimal (pre-random, guessable) subscriber id in it
 * names nobody either; such reports stay unmatched unless they carry a token.
 */
export function ledgerMessageIdResolver(ledger: Pick<Ledger, 'stateOf'>): MessageIdResolver {
  return async (messageId) => {
    const claims = messageIdClaims(messageId);
    if (!claims || /^\d+$/.test(claims.subscriberId)) return null;
    return (await ledger.stateOf(claims.campaignId, claims.subscriberId)) === null ? null : claims;
  };
}

/** The sink and the resolver over one Redis connection, as `depesche inbound` and the public app's webhooks use them. */
export function returnPathOver(redis: Redis, keys: Keyspace, config: Pick<Config, 'SOFT_BOUNCE_LIMIT' | 'SOFT_BOUNCE_DAYS'>): { sink: RedisReturnSink; resolveMessageId: MessageIdResolver } {
  const ledger = new RedisLedger(redis, keys);
  const sink = new RedisReturnSink({
    redis,
    keys,
    store: new RedisSubscriberStore(redis, keys),
    ledger,
    campaigns: new CampaignRepository(redis, keys),
    softBounces: { limit: config.SOFT_BOUNCE_LIMIT, days: config.SOFT_BOUNCE_DAYS },
    counts: new ReturnCounts(redis, keys),
  });
  return { sink, resolveMessageId: ledgerMessageIdResolver(ledger) };
}
