import type { EditionFallback, EditionPlan } from '../core/edition-fallback.ts';
import type { Lang } from '../core/lang.ts';
import type { SkipReason } from './recipient-decision.ts';
import type { ListPage, Subscriber, SubscriberStatus } from '../subscribers/types.ts';

/**
 * What the campaign code needs from the world, declared here so Redis and tests can each
 * stand in. The Redis subscriber store satisfies it as it is. (The mail transport's
 * contract is `Transport` in transport/types.ts, shared with proofs and system mails.)
 */

/** A subscriber as a send reads them: with the lists they are on now. */
export type CampaignReader = Subscriber & { lists: string[] };

/** The part of the subscriber store a send reads and writes. */
export interface CampaignSubscribers {
  getMany(ids: string[]): Promise<(CampaignReader | null)[]>;
  listExists(list: string): Promise<boolean>;
  page(list: string, cursor: string | null, limit: number): Promise<ListPage>;
  countActiveByLang(list: string): Promise<Record<Lang, number>>;
  setStatus(id: string, status: SubscriberStatus, reason?: string): Promise<void>;
}

/** One finished RFC 5322 message and its SMTP envelope, as the MIME builder makes it. */
export interface RawMessage {
  envelope: { from: string; to: string };
  /** The Message-ID header's value, angle brackets included. */
  messageId: string;
  /** The message as buffers to write in order; the large ones are shared by every recipient. */
  parts: Buffer[];
  /** The whole message in one buffer (a copy, made when asked for). */
  readonly raw: Buffer;
}

/** A campaign's states; campaigns.ts owns every move between them and draws the diagram. */
export const CAMPAIGN_STATES = ['preparing', 'scheduled', 'sending', 'paused', 'cancelled', 'done'] as const;
export type CampaignState = (typeof CAMPAIGN_STATES)[number];

/** A campaign as stored: one issue frozen for one list. Editions live beside it, once. */
export interface Campaign {
  id: string;
  slug: string;
  list: string;
  state: CampaignState;
  /** Why it is paused or cancelled, e.g. after repeated connection failures. */
  reason?: string;
  createdAt: number;
  /** When the fan-out may start (ms since the epoch). */
  at: number;
  /** The time zone `at` was given in, when it was given as a wall-clock time. */
  zone?: string;
  /** Messages per second for this campaign; the global SEND_RATE caps it as well. */
  rate?: number;
  langs: Lang[];
  /** Active members when it was created; the total until the fan-out has walked the list. */
  expected: number;
  /** Active members by language when it was created, for the edition plan. */
  readers: Record<Lang, number>;
  /** EDITION_FALLBACK when it was created: what readers of a language without an edition get. */
  fallback: EditionFallback;
  /** A send to the rest: the earlier campaigns of the issue whose readers it leaves out. */
  restOf?: string[];
  /** Version of the frozen editions; `update` bumps it. */
  version: number;
  startedAt?: number;
  finishedAt?: number;
}

/** Job data stays small: ids, never rendered HTML. */
export interface FanoutJobData {
  campaignId: string;
}

export interface BatchJobData {
  campaignId: string;
  batchNo: number;
  ids: string[];
  /** `resend` sends only to recipients the ledger holds as unclear. */
  mode?: 'send' | 'resend';
}

/** How recipients ended up; a batch reports them, a campaign adds them up. */
export interface DeliveryCounts {
  sent: number;
  failed: number;
  bounced: number;
  skipped: number;
  unclear: number;
}

export interface BatchResult extends DeliveryCounts {
  /** Why the batch stopped early, when it did. */
  halted?: 'cancelled' | 'parked' | 'missing';
}

/** Who gets which edition, as planned from the active members at creation; `summary` is the one-line form. */
export interface PlanView extends EditionPlan {
  /** EDITION_FALLBACK the campaign was created with. */
  policy: EditionFallback;
  /** E.g. `de 120 · en 80 (get de)`. */
  summary: string;
}

export interface CampaignStatus extends DeliveryCounts {
  id: string;
  slug: string;
  list: string;
  state: CampaignState;
  /** `skipped` by reason, zeros left out. */
  skippedBy: Partial<Record<SkipReason, number>>;
  /** `skipped` in words, e.g. `skipped 80 (no edition in their language 80)`. */
  skippedText: string;
  plan: PlanView;
  reason?: string;
  total: number;
  /** Readers left out of a send to the rest because an earlier campaign reached them. */
  previously: number;
  remaining: number;
  /** Messages answered per second since the send started. */
  rate: number;
  /** Seconds until done at the current rate; null when unknown. */
  eta: number | null;
  createdAt: string;
  /** When it starts (or started) sending. */
  at: string;
  /** The zone `at` was given in, when one was. */
  zone?: string;
  startedAt?: string;
  finishedAt?: string;
  /** Whether the whole list has been walked, so `total` is final. */
  fannedOut: boolean;
  /** Batches put aside while paused; resume queues them again. */
  parked: number;
  /** Version of the frozen editions (1 until `update` replaces them). */
  version: number;
  /** Something ops should know, e.g. that no worker has been seen for a while. */
  warning?: string;
}
