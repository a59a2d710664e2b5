import type { Redis } from 'ioredis';
import type { Keyspace } from '../config/redis.ts';
import type { Lang } from '../core/lang.ts';
import type { Subscriber, SubscriberStatus } from '../subscribers/types.ts';
import { sendFields, subscriberKey } from '../subscribers/record-key.ts';
import { campaignKeys, sendKeys, type SendKeys } from './keys.ts';
import { campaignScripts, type Scripts } from './scripts.ts';

/**
 * The delivery ledger: per campaign, one entry per recipient.
 *
 *   (none) ─claim─▶ c:<run> ─mark─▶ s sent | b bounced | f failed | u unclear
 *                     │  └─release (4xx, refused connection)─▶ (none), tried again
 *                     └─claim by another run once <run>'s heartbeat ran out─▶ u (worker died)
 *   (none) ─skip─▶ k skipped (inactive, left the list, or no edition in their language: the note says which)
 *   (none) ─fail─▶ f failed (an error before the claim)
 *   (none) ─claim of a send to the rest─▶ p (an earlier campaign reached them)
 *   u ─claim of a resend─▶ c:<run>      s ─late bounce─▶ b
 *
 * The claim is written before the SMTP transaction and the mark after the server's
 * answer. A claim whose run is gone means that run died in between (or could not record
 * the answer): nobody knows whether the mail arrived, so the recipient becomes unclear,
 * with the cause, counted, listed, and never resent unless ops ask for it. A claim whose
 * run is still alive is left to that run (`busy`). Claims carry the id of the run that
 * made them, so a command ioredis re-sends after a Redis restart stays idempotent.
 *
 * One move (`moveOne` in lua/includes) makes every change after a claim, from an expected
 * code to a new one with the counters moved along; later corrections (a bounce that comes
 * back days after `sent`) are the same move with another expected code.
 *
 * A worker pays for this in a few Redis calls, not a few per message: `claimMany` claims a
 * group (reading the campaign's state, each recipient's record and the rate-limit tokens in
 * the same script), and every move asked for during one turn of the event loop is written
 * by one `mark-many` call per campaign.
 */

export type LedgerOutcome = 'sent' | 'bounced' | 'failed' | 'unclear' | 'skipped';

export const LEDGER_CODES = { sent: 's', bounced: 'b', failed: 'f', unclear: 'u', skipped: 'k', previously: 'p' } as const;
const OUTCOME_OF: Record<string, string> = { s: 'sent', b: 'bounced', f: 'failed', u: 'unclear', k: 'skipped', p: 'previously' };

/** Why a recipient is unclear: the claim's run died, it could not record the answer, or the connection dropped after DATA. */
export const UNCLEAR_CAUSES = {
  died: 'worker died',
  unrecorded: 'answer not recorded',
  dropped: 'connection dropped after DATA',
} as const;

export type ClaimResult =
  | { kind: 'claimed' }
  /** The recipient was already handled (code of the ledger entry, or 'none'). */
  | { kind: 'done'; state: string }
  /** Another run that is still alive holds the claim; ask again later. */
  | { kind: 'busy' }
  /** The rate limit wants a pause of this many milliseconds first. */
  | { kind: 'wait'; ms: number }
  /** The campaign is not sending (paused, cancelled, …). */
  | { kind: 'halt'; state: string }
  /** The editions were replaced (`update`); load this version and ask again. */
  | { kind: 'stale'; version: number };

export interface ClaimOptions {
  /** `resend` claims only recipients held as unclear. */
  mode: 'send' | 'resend';
  /** Global messages per second. */
  globalRate: number;
  /** This campaign's messages per second; 0 for none. */
  campaignRate: number;
  /** The edition version the worker holds. */
  version: number;
  /** Earlier campaigns of the issue whose readers a send to the rest leaves out. */
  restOf?: string[];
}

export interface GroupClaimOptions extends ClaimOptions {
  /** The campaign's list: whoever left it is skipped. */
  list: string;
  /** Reader languages that get an edition (own or fallback); the others are skipped. */
  sendLangs: readonly Lang[];
  /** Tokens reserved by the last call for these recipients (its `reserved`). */
  prepaid?: number;
}

/** A claimed recipient, as their subscriber record stood at the moment of the claim. */
export type ClaimedRecipient = Pick<Subscriber, 'id' | 'email' | 'name' | 'lang' | 'status'> & {
  /** The campaign's list when they are on it, else empty. */
  lists: string[];
};

/** What a group claim says of one of its recipients. */
export type GroupClaimEntry =
  | { kind: 'claimed'; recipient: ClaimedRecipient }
  /** Not to be sent to (gone, not active, off the list, no edition): recorded as skipped with the reason, no token taken. */
  | { kind: 'skipped'; reason: string }
  | { kind: 'done'; state: string }
  | { kind: 'busy' }
  /** No rate-limit token for this one yet: ask again after the group's `waitMs`. */
  | { kind: 'wait' };

export type GroupClaimResult =
  | { kind: 'halt'; state: string }
  | { kind: 'stale'; version: number }
  /**
   * One entry per id, in order. When some must wait for tokens, their tokens are reserved
   * (`reserved`) and paid for after `waitMs`: ask again for them then, with `prepaid`.
   */
  | { kind: 'ok'; waitMs: number; reserved: number; entries: GroupClaimEntry[] };

export interface MarkOptions {
  /** Why it failed, bounced or is unclear; kept for ops. */
  note?: string;
  /**
   * `reset` when the server answered otherwise (every failure streak ends); a failure kind
   * (`conn`, `policy`) to count one more of it in a row. The answer's `streak` is the count.
   */
  streak?: 'reset' | 'conn' | 'policy';
}

export interface MarkResult {
  /** False when the entry was not as expected (e.g. the claim had turned unclear meanwhile). */
  ok: boolean;
  /** Failures of the kind asked for in a row, after this one. */
  streak: number;
}

export interface UnclearEntry {
  id: string;
  cause: string;
}

export interface Ledger {
  claim(campaignId: string, run: string, id: string, options: ClaimOptions): Promise<ClaimResult>;
  /**
   * Claims a group in one step: the campaign's state, each recipient's entry and subscriber
   * record, and the tokens. The caller must be able to have all of `ids` in flight at once.
   */
  claimMany(campaignId: string, run: string, ids: string[], options: GroupClaimOptions): Promise<GroupClaimResult>;
  /** Records the answer to this run's claim. */
  mark(campaignId: string, run: string, id: string, outcome: LedgerOutcome, options?: MarkOptions): Promise<MarkResult>;
  /** Gives a claim back after an answer that proves nothing arrived, so a retry sends it. */
  release(campaignId: string, run: string, id: string, options?: MarkOptions): Promise<MarkResult>;
  /**
   * Not to be sent when their turn came (in a resend: an unclear recipient no longer to be
   * sent); `reason` is kept as the note and counted in the campaign as `skipped:<reason>`.
   */
  skip(campaignId: string, id: string, mode: 'send' | 'resend', reason?: string): Promise<void>;
  /** Failed before any claim (an error reading them, say); never sent. */
  fail(campaignId: string, id: string, note: string): Promise<void>;
  /** A later correction of a final entry, e.g. sent → bounced when a bounce comes back days later. False when it was not `from`. */
  amend(campaignId: string, id: string, from: LedgerOutcome, to: LedgerOutcome, note?: string): Promise<boolean>;
  unclear(campaignId: string): Promise<UnclearEntry[]>;
  stateOf(campaignId: string, id: string): Promise<string | null>;
}

export class RedisLedger implements Ledger {
  readonly #redis: Redis;
  readonly #keys: Keyspace;
  readonly #send: SendKeys;
  readonly #scripts: Scripts;

  constructor(redis: Redis, keys: Keyspace) {
    this.#redis = redis;
    this.#keys = keys;
    this.#send = sendKeys(keys);
    this.#scripts = campaignScripts(redis);
  }

  async claim(campaignId: string, run: string, id: string, options: ClaimOptions): Promise<ClaimResult> {
    const k = campaignKeys(this.#keys, campaignId);
    const keys = [k.meta, k.ledger, k.unclear, k.notes, this.#send.runs, this.#send.globalBucket, k.bucket];
    if (options.mode === 'send') for (const other of options.restOf ?? []) keys.push(campaignKeys(this.#keys, other).ledger);
    const [kind, detail] = await this.#scripts.run<[string, string?]>('claim', keys, [
      run, id, options.mode, options.globalRate, options.campaignRate, options.version,
    ]);
    switch (kind) {
      case 'claimed':
      case 'busy':
        return { kind };
      case 'wait':
        return { kind, ms: Number(detail) };
      case 'done':
        return { kind, state: detail ?? '' };
      case 'stale':
        return { kind, version: Number(detail) };
      default:
        return { kind: 'halt', state: detail ?? 'missing' };
    }
  }

  async claimMany(campaignId: string, run: string, ids: string[], options: GroupClaimOptions): Promise<GroupClaimResult> {
    const k = campaignKeys(this.#keys, campaignId);
    const earlier = options.mode === 'send' ? (options.restOf ?? []).map((other) => campaignKeys(this.#keys, other).ledger) : [];
    const keys = [k.meta, k.ledger, k.unclear, k.notes, this.#send.runs, this.#send.globalBucket, k.bucket, ...earlier];
    for (const id of ids) keys.push(subscriberKey(this.#keys, id));
    const fields = sendFields(options.list);
    const reply = await this.#scripts.run<[string, string, (string | null)[][]?, number?]>('claim-many', keys, [
      run, options.mode, options.globalRate, options.campaignRate, options.version, options.prepaid ?? 0, options.sendLangs.join(','),
      earlier.length, fields.length, ...fields, ...ids,
    ]);
    const [kind, detail, entries = [], reserved = 0] = reply;
    if (kind === 'stale') return { kind, version: Number(detail) };
    if (kind !== 'ok') return { kind: 'halt', state: detail ?? 'missing' };
    return {
      kind: 'ok',
      waitMs: Number(detail),
      reserved: Number(reserved),
      entries: entries.map((entry, i): GroupClaimEntry => {
        switch (entry[0]) {
          case 'claimed':
            return {
              kind: 'claimed',
              recipient: { id: ids[i]!, status: (entry[1] ?? '') as SubscriberStatus, email: entry[2] ?? '', name: entry[3] ?? '', lang: (entry[4] ?? '') as Lang, lists: entry[5] ? [options.list] : [] },
            };
          case 'done':
            return { kind: 'done', state: entry[1] ?? '' };
          case 'skipped':
            return { kind: 'skipped', reason: entry[1] ?? '' };
          case 'busy':
          case 'wait':
            return { kind: entry[0] };
          default:
            throw new Error(`unexpected claim answer ${JSON.stringify(entry)}`);
        }
      }),
    };
  }

  /** Moves asked for during this turn of the event loop, per campaign; one script call each. */
  #moves = new Map<string, { args: (string | number)[]; settle: { resolve: (r: MarkResult) => void; reject: (e: unknown) => void }[] }>();

  #move(campaignId: string, id: string, expected: string, code: string, options: MarkOptions = {}): Promise<MarkResult> {
    let group = this.#moves.get(campaignId);
    if (!group) {
      group = { args: [], settle: [] };
      if (this.#moves.size === 0) setImmediate(() => this.#flushMoves());
      this.#moves.set(campaignId, group);
    }
    group.args.push(id, expected, code, options.note ?? '', options.streak ?? '');
    return new Promise((resolve, reject) => group.settle.push({ resolve, reject }));
  }

  #flushMoves(): void {
    const groups = this.#moves;
    this.#moves = new Map();
    for (const [campaignId, { args, settle }] of groups) {
      const k = campaignKeys(this.#keys, campaignId);
      this.#scripts.run<[string, number | string][]>('mark-many', [k.meta, k.ledger, k.unclear, k.notes], [Date.now(), ...args]).then(
        (replies) =>
          settle.forEach(({ resolve }, i) => {
            const [result, detail] = replies[i] ?? ['moved', ''];
            resolve({ ok: result === 'ok', streak: result === 'ok' ? Number(detail) : 0 });
          }),
        (error: unknown) => settle.forEach(({ reject }) => reject(error)),
      );
    }
  }

  mark(campaignId: string, run: string, id: string, outcome: LedgerOutcome, options?: MarkOptions): Promise<MarkResult> {
    return this.#move(campaignId, id, `c:${run}`, LEDGER_CODES[outcome], options);
  }

  release(campaignId: string, run: string, id: string, options?: MarkOptions): Promise<MarkResult> {
    return this.#move(campaignId, id, `c:${run}`, 'r', options);
  }

  async skip(campaignId: string, id: string, mode: 'send' | 'resend', reason?: string): Promise<void> {
    await this.#move(campaignId, id, mode === 'resend' ? 'u' : '', 'k', reason ? { note: reason } : {});
  }

  async fail(campaignId: string, id: string, note: string): Promise<void> {
    await this.#move(campaignId, id, '', 'f', { note });
  }

  async amend(campaignId: string, id: string, from: LedgerOutcome, to: LedgerOutcome, note?: string): Promise<boolean> {
    return (await this.#move(campaignId, id, LEDGER_CODES[from], LEDGER_CODES[to], note ? { note } : {})).ok;
  }

  async unclear(campaignId: string): Promise<UnclearEntry[]> {
    const k = campaignKeys(this.#keys, campaignId);
    const ids = (await this.#redis.smembers(k.unclear)).sort();
    if (ids.length === 0) return [];
    const causes = await this.#redis.hmget(k.notes, ...ids);
    return ids.map((id, i) => ({ id, cause: causes[i] ?? UNCLEAR_CAUSES.died }));
  }

  async stateOf(campaignId: string, id: string): Promise<string | null> {
    const state = await this.#redis.hget(campaignKeys(this.#keys, campaignId).ledger, id);
    if (state === null) return null;
    return state.startsWith('c:') ? 'claimed' : (OUTCOME_OF[state] ?? state);
  }

  /** How many of `ids` each earlier campaign reached (for the dry run of a send to the rest). */
  async reachedBy(earlier: string[], ids: string[]): Promise<number> {
    if (earlier.length === 0 || ids.length === 0) return 0;
    const pipeline = this.#redis.pipeline();
    for (const other of earlier) pipeline.hmget(campaignKeys(this.#keys, other).ledger, ...ids);
    const replies = (await pipeline.exec()) ?? [];
    let reached = 0;
    for (let i = 0; i < ids.length; i++) {
      const hit = replies.some(([error, codes]) => {
        if (error) throw error;
        const code = (codes as (string | null)[])[i];
        return code === 's' || code === 'b' || code === 'u' || (code?.startsWith('c:') ?? false);
      });
      if (hit) reached++;
    }
    return reached;
  }
}
