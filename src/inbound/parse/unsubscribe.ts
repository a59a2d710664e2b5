import type { ReturnEvent } from '../types.ts';
import { addressesIn, field } from './fields.ts';
import { eventKey, type Mail } from './mail.ts';

/**
 * Unsubscribes by mail: a mail to the List-Unsubscribe mailto. With a token
 * (`unsubscribe+<token>@…`) it names campaign and reader, signed. Without one (the mailto of
 * mails sent before tokens), the sender's address is all there is: the request applies to
 * that address only when the envelope sender agrees with the From (`by: 'sender'`), and is
 * logged as a legacy request. When they differ, someone may be asking for somebody else:
 * the request is unmatched (`trust.ts`), kept and acts on nobody. Both can still be forged
 * together; the README says what that costs. Subject and body do not matter, whatever
 * they say: writing to that address is the request (RFC 2369).
 */
export function isUnsubscribeRequest(mail: Mail): boolean {
  return mail.ours.unsubscribe !== undefined || mail.ours.unsubscribeLegacy;
}

export function parseUnsubscribe(mail: Mail): ReturnEvent[] {
  const base = { source: mail.context.source, at: mail.at };
  const email = mail.from?.toLowerCase();
  const token = mail.ours.unsubscribe;
  if (token) {
    return [
      {
        kind: 'unsubscribe',
        key: eventKey(mail, 'unsubscribe', token.campaignId, token.subscriberId),
        ...base,
        reader: { campaignId: token.campaignId, subscriberId: token.subscriberId, ...(email ? { email } : {}), by: 'verp' },
        legacy: false,
      },
    ];
  }
  if (!email) return [{ kind: 'unparseable', reason: 'unsubscribe request without a sender address', ...base }];
  const by = envelopeSender(mail) === email ? 'sender' : 'address';
  return [{ kind: 'unsubscribe', key: eventKey(mail, 'unsubscribe', email), ...base, reader: { email, by }, legacy: true }];
}

/**
 * The envelope sender (MAIL FROM), lower-cased: from the SMTP session, or, for a message read
 * from a mailbox, the topmost `Return-Path`, which the final delivery writes from the envelope.
 */
function envelopeSender(mail: Mail): string | undefined {
  const envelope = mail.context.envelope;
  const sender = envelope ? envelope.from : addressesIn(field(mail.header, 'return-path'))[0];
  return sender ? sender.toLowerCase() : undefined;
}
