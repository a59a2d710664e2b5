import { softBounceVerdict, type SoftBounceRule } from './soft-bounces.ts';
import { unmatchedReason } from './trust.ts';
import type { ActionableEvent, BounceEvent, ComplaintEvent, ReaderRef, RejectionEvent, ReturnSink, SinkOutcome, UnsubscribeEvent } from './types.ts';

/**
 * A `ReturnSink` over plain maps: the contract of the return path in executable form. Tests
 * of the receivers use it to see what a report did to a reader; the Redis-backed sink over
 * the ledger and the subscriber store must behave the same way.
 *
 * - idempotent by event key;
 * - a hard bounce, or SOFT_BOUNCE_LIMIT soft ones within SOFT_BOUNCE_DAYS, makes the reader
 *   bounced, and the campaign's ledger entry bounced;
 * - a rejection leaves the reader as they are and marks the ledger entry failed;
 * - a complaint makes the reader complained (never mailed again, on any list);
 * - an unsubscribe takes the reader off the campaign's list (every list for a legacy
 *   request); with no list left they are unsubscribed;
 * - a complained reader stays complained whatever comes after;
 * - a report from mail that names its reader only by address is unmatched: it changes
 *   nobody, and its key is listed in `unmatched`;
 * - every change is logged with `via: 'mail'` and the campaign id.
 */

export type MemoryReaderStatus = 'active' | 'unsubscribed' | 'bounced' | 'complained';

export interface MemoryReader {
  id: string;
  email: string;
  status: MemoryReaderStatus;
  lists: Set<string>;
  softBounces: number[];
}

export interface MemoryLogEntry {
  subscriberId: string;
  campaignId?: string;
  action: 'bounced' | 'soft-bounce' | 'rejected' | 'complained' | 'unsubscribed';
  via: 'mail';
  detail: string;
}

export interface MemorySinkOptions {
  readers: { id: string; email: string; lists: string[]; status?: MemoryReaderStatus }[];
  /** Which list each campaign went to. */
  campaigns?: Record<string, { list: string }>;
  softBounces?: SoftBounceRule;
  now?: () => number;
}

export class MemoryReturnSink implements ReturnSink {
  readonly readers = new Map<string, MemoryReader>();
  /** `<campaign>:<subscriber>` → what the ledger says about that delivery. */
  readonly ledger = new Map<string, { state: 'sent' | 'bounced' | 'failed'; reason?: string }>();
  readonly log: MemoryLogEntry[] = [];
  /** Keys of the events applied, in order. */
  readonly applied: string[] = [];
  /** Keys of the events found unmatched (`trust.ts`), in order. */
  readonly unmatched: string[] = [];
  readonly #seen = new Set<string>();
  readonly #campaigns: Record<string, { list: string }>;
  readonly #rule: SoftBounceRule;
  readonly #now: () => number;

  constructor(options: MemorySinkOptions) {
    for (const r of options.readers) {
      this.readers.set(r.id, { id: r.id, email: r.email.toLowerCase(), status: r.status ?? 'active', lists: new Set(r.lists), softBounces: [] });
    }
    this.#campaigns = options.campaigns ?? {};
    for (const [campaignId] of Object.entries(this.#campaigns)) {
      for (const reader of this.readers.values()) this.ledger.set(`${campaignId}:${reader.id}`, { state: 'sent' });
    }
    this.#rule = options.softBounces ?? { limit: 3, days: 30 };
    this.#now = options.now ?? Date.now;
  }

  #find(ref: ReaderRef): MemoryReader | undefined {
    if (ref.subscriberId) return this.readers.get(ref.subscriberId);
    if (!ref.email) return undefined;
    const email = ref.email.toLowerCase();
    return [...this.readers.values()].find((r) => r.email === email);
  }

  /** Runs `apply` once per key for a known reader. */
  #once(event: ActionableEvent, apply: (reader: MemoryReader) => SinkOutcome): SinkOutcome {
    if (this.#seen.has(event.key)) return { status: 'duplicate' };
    const unmatched = unmatchedReason(event);
    if (unmatched) {
      this.#seen.add(event.key);
      this.unmatched.push(event.key);
      return { status: 'unmatched', detail: unmatched };
    }
    const reader = this.#find(event.reader);
    if (!reader) return { status: 'unknown-reader' };
    this.#seen.add(event.key);
    const outcome = apply(reader);
    if (outcome.status === 'applied') this.applied.push(event.key);
    return outcome;
  }

  #note(reader: MemoryReader, event: { reader: ReaderRef }, action: MemoryLogEntry['action'], detail: string): void {
    this.log.push({ subscriberId: reader.id, ...(event.reader.campaignId ? { campaignId: event.reader.campaignId } : {}), action, via: 'mail', detail });
  }

  #mark(event: { reader: ReaderRef }, reader: MemoryReader, state: 'bounced' | 'failed', reason: string): void {
    const campaignId = event.reader.campaignId;
    if (campaignId && this.ledger.has(`${campaignId}:${reader.id}`)) this.ledger.set(`${campaignId}:${reader.id}`, { state, reason });
  }

  async bounce(event: BounceEvent): Promise<SinkOutcome> {
    return this.#once(event, (reader) => {
      let hard = event.severity === 'hard';
      let detail = `hard bounce: ${event.reason}`;
      if (!hard) {
        const verdict = softBounceVerdict(reader.softBounces, Date.parse(event.at) || this.#now(), this.#rule);
        reader.softBounces = verdict.keep;
        hard = verdict.hard;
        detail = `soft bounce ${verdict.count} of ${this.#rule.limit} in ${this.#rule.days} days: ${event.reason}`;
        if (!hard) {
          this.#note(reader, event, 'soft-bounce', detail);
          return { status: 'applied', detail };
        }
      }
      this.#mark(event, reader, 'bounced', event.reason);
      if (reader.status === 'complained') return { status: 'unchanged', detail: 'reader complained before; stays complained' };
      reader.status = 'bounced';
      this.#note(reader, event, 'bounced', detail);
      return { status: 'applied', detail: `reader bounced (${detail})` };
    });
  }

  async rejection(event: RejectionEvent): Promise<SinkOutcome> {
    return this.#once(event, (reader) => {
      this.#mark(event, reader, 'failed', event.reason);
      this.#note(reader, event, 'rejected', event.reason);
      return { status: 'applied', detail: 'delivery failed; reader stays active' };
    });
  }

  async complaint(event: ComplaintEvent): Promise<SinkOutcome> {
    return this.#once(event, (reader) => {
      if (reader.status === 'complained') return { status: 'unchanged' };
      reader.status = 'complained';
      this.#note(reader, event, 'complained', `${event.feedbackType} via ${event.reporter ?? event.source}`);
      return { status: 'applied', detail: 'reader complained; never mailed again' };
    });
  }

  async unsubscribe(event: UnsubscribeEvent): Promise<SinkOutcome> {
    return this.#once(event, (reader) => {
      const list = event.reader.campaignId ? this.#campaigns[event.reader.campaignId]?.list : undefined;
      const leaving = event.legacy || !list ? [...reader.lists] : reader.lists.has(list) ? [list] : [];
      if (leaving.length === 0) return { status: 'unchanged', detail: 'not on that list' };
      for (const l of leaving) reader.lists.delete(l);
      if (reader.lists.size === 0 && reader.status === 'active') reader.status = 'unsubscribed';
      const detail = `left ${leaving.join(', ')}${event.legacy ? ' (mail to the token-less address)' : ''}`;
      this.#note(reader, event, 'unsubscribed', detail);
      return { status: 'applied', detail };
    });
  }
}
