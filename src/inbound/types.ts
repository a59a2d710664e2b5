/**
 * What the return path produces and what it needs, declared here so the receivers (SMTP
 * listener, IMAP poller, webhooks) and the parsers never depend on how the ledger or the
 * subscriber store are built. The composition root hands in a `ReturnSink` that applies
 * events to the ledger and the subscriber states; tests hand in the in-memory one.
 */

/** Where an event came from: a receiver of the return path, or `send`, the SMTP answer during the send. */
export type ReturnSource = 'smtp' | 'imap' | 'ses' | 'postmark' | 'mailgun' | 'send';

/**
 * Who and what an event is about, as far as the report tells. A VERP token gives campaign
 * and subscriber, signed. Without one, the original Message-ID (resolved by the
 * composition root) or only the address remain; such attributions are unsigned, so a sink
 * may treat them with less trust.
 */
export interface ReaderRef {
  campaignId?: string;
  subscriberId?: string;
  /** The reader's address as the report names it (final or original recipient, complainer, sender of an unsubscribe). */
  email?: string;
  /** Message-ID of the mail the report is about, with angle brackets. */
  messageId?: string;
  /**
   * How campaign and reader were found: a signed VERP token; the original Message-ID; the
   * values we set on the message at a sending provider (`metadata`, trusted because the
   * webhook that returns them is authenticated); the sender of a mail whose envelope
   * sender agrees with its From (`sender`, only for a token-less unsubscribe request);
   * or only the address.
   *
   * A report read from mail (`smtp`, `imap`) found only by `address` or `none` is
   * "unmatched": anyone can write such a report, so it is kept and counted but changes no
   * reader (`trust.ts`). A provider's authenticated webhook may act by address.
   */
  by: 'verp' | 'message-id' | 'metadata' | 'sender' | 'address' | 'none';
}

interface EventBase {
  /**
   * Dedupe key: the same report delivered twice (an SMTP client retrying after a timeout,
   * an IMAP message fetched again after a crash, a webhook retried) has the same key.
   */
  key: string;
  source: ReturnSource;
  /** When the report says it happened, else when it arrived (ISO 8601). */
  at: string;
  reader: ReaderRef;
}

/** The reader's mailbox refused the mail: gone for good (`hard`) or for now (`soft`). */
export interface BounceEvent extends EventBase {
  kind: 'bounce';
  severity: 'hard' | 'soft';
  /** Enhanced status code (e.g. `5.1.1`) when the report has one. */
  status?: string;
  /** The server's answer or the provider's description, one line. */
  reason: string;
  /** Row of the SMTP answer table (or provider mapping) that decided. */
  rule: string;
}

/**
 * A server further along refused the sender or the content (blocklist, spam verdict,
 * authentication, size): the sender's problem. The reader stays active; the campaign's
 * ledger notes the failure, and many in a row are a reason to pause.
 */
export interface RejectionEvent extends EventBase {
  kind: 'rejected';
  status?: string;
  reason: string;
  rule: string;
}

/** The reader marked the mail as spam (ARF, RFC 5965, or a provider's complaint webhook). */
export interface ComplaintEvent extends EventBase {
  kind: 'complaint';
  /** ARF Feedback-Type (`abuse`, `fraud`, `other`) or the provider's. */
  feedbackType: string;
  /** Who reported it (ARF User-Agent, the provider), for the log. */
  reporter?: string;
}

/** The reader asked by mail to leave (the List-Unsubscribe mailto), or a provider passed such a request on. */
export interface UnsubscribeEvent extends EventBase {
  kind: 'unsubscribe';
  /**
   * True for the token-less `unsubscribe@…` of mails sent before tokens: the reader is
   * known only by the sender address of the request, so it applies to that address on
   * the lists it is on, and is logged as such.
   */
  legacy: boolean;
}

/** Recognized and deliberately not acted on: auto-replies, delay notices, successful-delivery reports. */
export interface IgnoredEvent {
  kind: 'ignored';
  reason: string;
  source: ReturnSource;
  at: string;
  reader?: ReaderRef;
}

/** Could not be read; the message is kept (quarantine) and logged. */
export interface UnparseableEvent {
  kind: 'unparseable';
  reason: string;
  source: ReturnSource;
  at: string;
  reader?: ReaderRef;
}

export type ReturnEvent = BounceEvent | RejectionEvent | ComplaintEvent | UnsubscribeEvent | IgnoredEvent | UnparseableEvent;

/** The events a sink acts on. */
export type ActionableEvent = BounceEvent | RejectionEvent | ComplaintEvent | UnsubscribeEvent;

/** What a sink did with an event. */
export interface SinkOutcome {
  /**
   * - `applied`: the reader's state or the ledger changed.
   * - `duplicate`: an event with this key was applied before; nothing changed.
   * - `unknown-reader`: no subscriber matches the reference; nothing changed.
   * - `unmatched`: a report from mail that names its reader only by address (no signed
   *   token, no Message-ID of ours): anyone could have written it, so nothing changed; the
   *   receiver keeps the message and it is counted as `unmatched`.
   * - `unchanged`: the reader is known, but the event changes nothing (already unsubscribed,
   *   a soft bounce still under the limit is `applied`, not this).
   */
  status: 'applied' | 'duplicate' | 'unknown-reader' | 'unchanged' | 'unmatched';
  /** One line for the log: what changed, e.g. `reader bounced after 3 soft bounces`. */
  detail?: string;
}

/**
 * Where return events go. Each method is idempotent by `event.key`: a second call with the
 * same key changes nothing and answers `duplicate`. A method throws only when it could not
 * record the event (storage down); the receiver then reports a temporary failure so the
 * report is delivered again later, and nothing is lost.
 */
export interface ReturnSink {
  /** Hard: the reader becomes bounced, and the campaign's ledger entry moves from sent to bounced. Soft: counted; SOFT_BOUNCE_LIMIT within SOFT_BOUNCE_DAYS make a hard bounce. */
  bounce(event: BounceEvent): Promise<SinkOutcome>;
  /** The reader stays active; the campaign's ledger entry records the failure and its reason. */
  rejection(event: RejectionEvent): Promise<SinkOutcome>;
  /** The reader becomes complained: never mailed again, on any list. */
  complaint(event: ComplaintEvent): Promise<SinkOutcome>;
  /** The reader leaves the list the campaign went to (every list for a legacy request), logged `via: mail`. */
  unsubscribe(event: UnsubscribeEvent): Promise<SinkOutcome>;
}

/**
 * Finds campaign and subscriber for an original Message-ID. The Message-ID scheme belongs to
 * the campaign code, so the composition root supplies this; null when it is not ours.
 */
export type MessageIdResolver = (messageId: string) => Promise<{ campaignId: string; subscriberId: string } | null>;

/**
 * Remembers tokens for a while, so a signed webhook cannot be replayed. `claim` answers
 * true the first time a token is seen within `ttlMs`, false after; `release` forgets a
 * token whose request failed, so the provider's retry is not taken for a replay.
 */
export interface SeenTokens {
  claim(token: string, ttlMs: number): Promise<boolean>;
  release(token: string): Promise<void>;
}

/** Keeps a message that could not be read, so nothing that came back is lost. */
export interface Quarantine {
  /** Stores the raw message with a note; returns where it went (a path, a mailbox name). */
  keep(raw: Buffer, note: { reason: string; source: ReturnSource; envelope?: { from: string; to: string[] } }): Promise<string>;
}
