import type { BounceEvent } from '../inbound/types.ts';
import { classifySendError, type AnswerClass } from '../transport/smtp-answers.ts';

/**
 * What an SMTP failure means for the ledger and the reader. The server's answer is read by
 * the one table of `transport/smtp-answers.ts` (enhanced status code first, text where
 * providers misuse codes); without an answer, whether the whole message had left
 * (`dataSent`, set by our SMTP transport) decides whether a retry is safe.
 */
export type SendFailure =
  /** The mailbox is gone (5.1.x, 5.2.1, "user unknown", O365's 5.4.1 "Access denied"): bounced, never retried. */
  | 'bounce'
  /** A permanent refusal that names no cause, or a full mailbox: failed with the reason; the reader stays active. */
  | 'soft'
  /** The receiving side refuses the sender or the content (5.7.x, 5.3.x, "blocked", "spam", …): failed; the reader stays active; many in a row pause the campaign. */
  | 'policy'
  /** 4xx: the server said not now; nothing arrived, retry later. */
  | 'transient'
  /** No connection, it broke before the message was out, or our login or sender was refused: nothing arrived, retry later. */
  | 'connection'
  /** The connection broke after the message was out: only the server knows. */
  | 'unknown';

const KIND_TO_FAILURE: Record<AnswerClass['kind'], SendFailure> = {
  hard: 'bounce',
  soft: 'soft',
  policy: 'policy',
  // Our login or sender address refused: a setup problem. Nobody is bounced for it; it
  // counts toward the connection-failure pause, which tells ops.
  setup: 'connection',
  transient: 'transient',
  connection: 'connection',
  unknown: 'unknown',
};

/** The answer class and what it means for the send. */
export function readFailure(error: unknown): { failure: SendFailure; answer: AnswerClass } {
  // A refused login carries 535 5.7.8, which the table would read as policy: it is our setup.
  if ((error as { code?: string } | undefined)?.code === 'EAUTH') {
    const answer = classifySendError(error);
    return { failure: 'connection', answer: { ...answer, kind: 'setup', meaning: 'setup', rule: 'auth-refused' } };
  }
  const answer = classifySendError(error);
  return { failure: KIND_TO_FAILURE[answer.kind], answer };
}

export function classifyFailure(error: unknown): SendFailure {
  return readFailure(error).failure;
}

export function describeFailure(error: unknown): string {
  const e = error as { response?: string; message?: string } | undefined;
  return String(e?.response ?? e?.message ?? error).replace(/[\r\n]+/g, ' ').slice(0, 300);
}

/**
 * A soft bounce answered during the send, as the return path's event, so it counts toward
 * SOFT_BOUNCE_LIMIT within SOFT_BOUNCE_DAYS like one reported later. Keyed by the run, so a
 * recorded answer is counted once.
 */
export function softBounceAtSend(campaignId: string, subscriberId: string, run: string, reason: string): BounceEvent {
  return {
    kind: 'bounce',
    severity: 'soft',
    key: `send:${campaignId}:${subscriberId}:${run}`,
    source: 'send',
    at: new Date().toISOString(),
    reader: { campaignId, subscriberId, by: 'metadata' },
    reason,
    rule: 'smtp-answer',
  };
}
