import type { SubscriberStatus } from './types.ts';

/**
 * A subscriber's states, and who may move them: the one table every status change in
 * Depesche goes through (redis-store.ts runs each row as one Lua script that refuses a
 * change from any state the row does not list).
 *
 *                      request (form, preference centre): a mail with a one-time link
 *   (unknown address) ─────────────────▶ pending ──────────────┐
 *                                                             confirm (the reader, with the
 *        ┌──────────────────────────────────────────────────▶ link's nonce)
 *        │                                                     ▼
 *   unsubscribed ◀── unsubscribe, or leaving the last list ── active ◀── reactivate (ops) ──┐
 *        │            (the reader; ops on request)              │                            │
 *        │                                                      └── hard bounce ──▶ bounced ─┘
 *        └── confirm of a new request ──▶ active                                     │
 *                                                    bounced ── confirm of a new request ──▶ active
 *   any state ── complaint ──▶ complained: final. Never mailed again, not even a confirmation.
 *
 * The rule behind the arrows: from the public side nothing about a subscription changes
 * without a confirmed action of its owner. A form post only ever creates a *request*
 * (stored with a nonce, mailed to the address, applied by the confirm link alone), so a
 * stranger can neither join a reader to a list nor bring back someone who left. Leaving
 * is the exception that needs no confirmation: a link from the reader's own mail is enough.
 *
 * Ops may reactivate a bounce, change a language and erase a reader (each logged with who
 * and why), but never reactivate an unsubscribe or a complaint: only the reader can, by
 * confirming a new request.
 */
export type TransitionName = 'unsubscribe' | 'bounce' | 'complain' | 'reactivate';

export interface TransitionRule {
  from: readonly SubscriberStatus[];
  to: SubscriberStatus;
  /** Who may ask for it: the reader (through a signed link), the system (the send, the return path) or ops. */
  by: readonly ('reader' | 'system' | 'ops')[];
  /**
   * What a change from an unlisted state means: `ignore` when that state already says as
   * much or more (a bounce after an unsubscribe), `refuse` when the caller must hear no.
   */
  otherwise: 'ignore' | 'refuse';
}

export const TRANSITIONS: Record<TransitionName, TransitionRule> = {
  unsubscribe: { from: ['pending', 'active', 'bounced', 'unsubscribed'], to: 'unsubscribed', by: ['reader', 'ops'], otherwise: 'ignore' },
  bounce: { from: ['pending', 'active'], to: 'bounced', by: ['system'], otherwise: 'ignore' },
  complain: { from: ['pending', 'active', 'bounced', 'unsubscribed'], to: 'complained', by: ['system'], otherwise: 'ignore' },
  reactivate: { from: ['bounced'], to: 'active', by: ['ops'], otherwise: 'refuse' },
};

/** The states a confirmation link may move to active (a complaint is final). */
export const CONFIRMABLE: readonly SubscriberStatus[] = ['pending', 'active', 'unsubscribed', 'bounced'];

/** States no campaign sends to and no import lifts. */
export const SUPPRESSED: readonly SubscriberStatus[] = ['unsubscribed', 'bounced', 'complained'];

export function isSuppressed(status: SubscriberStatus): boolean {
  return SUPPRESSED.includes(status);
}

/** The transition that leads to `status`, for callers that speak in target states (the send's bounce). */
export function transitionTo(status: SubscriberStatus): TransitionName | undefined {
  return (Object.keys(TRANSITIONS) as TransitionName[]).find((name) => TRANSITIONS[name].to === status && name !== 'reactivate') ??
    (status === 'active' ? 'reactivate' : undefined);
}
