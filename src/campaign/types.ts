import type { Readable } from 'node:stream';
import type { Lang } from '../core/lang.ts';
import type { ListPage, Subscriber, SubscriberStatus } from '../subscribers/types.ts';

/**
 * What the campaign code needs from the world, declared here so Redis, SMTP and tests
 * can each stand in. The Redis subscriber store and the SMTP transport satisfy these as
 * they are.
 */

/** The part of the subscriber store a send reads and writes. */
export interface CampaignSubscribers {
  getMany(ids: string[]): Promise<(Subscriber | null)[]>;
  listExists(list: string): Promise<boolean>;
  page(list: string, cursor: string | null, limit: number): Promise<ListPage>;
  countActiveByLang(list: string): Promise<Record<Lang, number>>;
  setStatus(id: string, status: SubscriberStatus, reason?: string): Promise<void>;
}

/** One finished RFC 5322 message and its SMTP envelope. */
export interface RawMessage {
  envelope: { from: string; to: string };
  /** The Message-ID header's value, angle brackets included. */
  messageId: string;
  /** The message as buffers to write in order; the large ones are shared by every recipient. */
  parts: Buffer[];
  /** The whole message in one buffer (a copy, made when asked for). */
  readonly raw: Buffer;
}

/** What goes to the transport: the message as one buffer or a byte stream. */
export interface OutgoingMessage {
  envelope: { from: string; to: string };
  raw: Buffer | Readable;
  /** The Message-ID the raw message carries, so nodemailer reports it instead of making one up. */
  messageId?: string;
}

/**
 * Sends one raw message. A refusal rejects with `responseCode` (4xx transient, 5xx
 * permanent) when the server answered. A fault without an answer should say whether the
 * whole message had left for the server (`dataSent`): before that, nothing can have
 * arrived and a retry is safe; after it, only the server knows.
 */
export interface CampaignTransport {
  sendMail(message: OutgoingMessage): Promise<{ messageId: string; response: string }>;
}

export const CAMPAIGN_STATES = ['scheduled', 'sending', 'paused', 'cancelled', 'done'] as const;
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
  /** Messages per second for this campaign; the global SEND_RATE caps it as well. */
  rate?: number;
  langs: Lang[];
  /** Active members by language when it was created; the total until the fan-out has walked the list. */
  expected: number;
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
  halted?: 'cancelled';
}

export interface CampaignStatus extends DeliveryCounts {
  id: string;
  slug: string;
  list: string;
  state: CampaignState;
  reason?: string;
  total: number;
  remaining: number;
  /** Messages answered per second since the send started. */
  rate: number;
  /** Seconds until done at the current rate; null when unknown. */
  eta: number | null;
  createdAt: string;
  at: string;
  startedAt?: string;
  finishedAt?: string;
  /** Whether the whole list has been walked, so `total` is final. */
  fannedOut: boolean;
}
