import type { ReturnEvent } from '../types.ts';
import { addressesIn, field, fieldGroups, typedAddress } from './fields.ts';
import { attribute, eventKey, type Mail } from './mail.ts';

/**
 * Complaints in the Abuse Reporting Format, RFC 5965: a `multipart/report;
 * report-type=feedback-report` with a human part, a `message/feedback-report` part of
 * fields (Feedback-Type, User-Agent, Original-Rcpt-To, …) and the original message or its
 * header. Yahoo's complaint feedback loop, Microsoft's JMRP and most other loops send it,
 * often with the recipient redacted, so the original's Return-Path token or Message-ID
 * usually names the reader.
 */

// RFC 5965 and its registry: abuse, fraud, virus, other, not-spam; RFC 6591 adds auth-failure.
const COMPLAINTS = new Set(['abuse', 'fraud', 'other']);

export function isArf(mail: Mail): boolean {
  return mail.reportType === 'feedback-report' || mail.parts.some((p) => p.contentType === 'message/feedback-report');
}

export async function parseArf(mail: Mail): Promise<ReturnEvent[]> {
  const base = { source: mail.context.source, at: mail.at };
  const part = mail.parts.find((p) => p.contentType === 'message/feedback-report');
  if (!part) return [{ kind: 'unparseable', reason: 'feedback report without a message/feedback-report part', ...base }];
  const report = fieldGroups(part.content.toString('utf8'))[0];
  const type = field(report, 'feedback-type')?.trim().toLowerCase();
  if (!type) return [{ kind: 'unparseable', reason: 'feedback report without Feedback-Type', ...base }];
  if (!COMPLAINTS.has(type)) return [{ kind: 'ignored', reason: `feedback report of type "${type}" is no complaint by a reader`, ...base }];
  // A redacted recipient ("redacted@example.com", "xxxxx@…") names nobody; the original's token does.
  // Microsoft's JMRP names the recipient in a header of its own on the original.
  const named =
    typedAddress(field(report, 'original-rcpt-to')) ??
    typedAddress(field(mail.original, 'x-hmxmroriginalrecipient')) ??
    addressesIn(field(mail.original, 'to'))[0];
  const email = named && !/redacted|^x+@/i.test(named) ? named : undefined;
  const reader = await attribute(mail, email);
  const reporter = field(report, 'user-agent') ?? field(report, 'reported-domain') ?? mail.from;
  return [
    {
      kind: 'complaint',
      key: eventKey(mail, 'complaint'),
      ...base,
      reader,
      feedbackType: type,
      ...(reporter ? { reporter } : {}),
    },
  ];
}
