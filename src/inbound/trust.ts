import type { ActionableEvent } from './types.ts';

/**
 * Whether a report may change a reader, judged by how it names them. Anybody can send a
 * mail that looks like a DSN or an ARF report to the bounce or report mailbox; if the
 * address inside were enough, a stranger could bounce or complain any subscriber. So a
 * report read from mail must name its reader in a way only a real delivery can: a signed
 * VERP token, or the Message-ID of a message the ledger sent to that reader. A token-less
 * unsubscribe request may act for its own sender (`by: 'sender'`, the envelope sender and
 * From agree), since the worst a forger gets is a reader off a list, logged.
 *
 * Provider webhooks (SES, Postmark, Mailgun) are authenticated, and the provider vouches for
 * the address it names, so they may act by address. The answer during the send (`send`)
 * always carries the reader.
 *
 * Returns why an event is unmatched, or undefined when it may act.
 */
export function unmatchedReason(event: ActionableEvent): string | undefined {
  if (event.source !== 'smtp' && event.source !== 'imap') return undefined;
  const by = event.reader.by;
  if (by === 'verp' || by === 'message-id') return undefined;
  if (by === 'sender' && event.kind === 'unsubscribe') return undefined;
  if (event.kind === 'unsubscribe' && event.legacy) return 'unsubscribe request whose envelope sender does not match its From';
  return `${event.kind === 'rejected' ? 'rejection' : event.kind} that names its reader only by address (no signed return path, no Message-ID of ours)`;
}
