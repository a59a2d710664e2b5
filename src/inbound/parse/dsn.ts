import { classifySmtpAnswer, enhancedStatusOf, type AnswerClass } from '../../transport/smtp-answers.ts';
import type { ReturnEvent } from '../types.ts';
import { field, fieldGroups, typedAddress } from './fields.ts';
import { attribute, eventKey, type Mail } from './mail.ts';

/**
 * Delivery status notifications, RFC 3464: a `multipart/report; report-type=delivery-status`
 * whose `message/delivery-status` part holds one group of per-message fields and one group
 * per recipient (Final-Recipient, Action, Status, Diagnostic-Code). Postfix, Exim (recent),
 * Gmail, Exchange and Office 365 all send this shape; RFC 6533's `message/global-delivery-status`
 * is read the same way.
 */

const STATUS_PARTS = new Set(['message/delivery-status', 'message/global-delivery-status']);

export function isDsn(mail: Mail): boolean {
  return mail.parts.some((p) => STATUS_PARTS.has(p.contentType));
}

export interface RecipientStatus {
  recipient?: string;
  action: string;
  status?: string;
  diagnostic?: string;
  /** `Remote-MTA`, when the report names the server that answered. */
  remote?: string;
}

/** The per-recipient groups of a delivery-status part. */
export function recipientStatuses(text: string): RecipientStatus[] {
  return fieldGroups(text)
    .filter((group) => group.has('action') || group.has('final-recipient') || group.has('original-recipient'))
    .map((group) => {
      const recipient = typedAddress(field(group, 'original-recipient')) ?? typedAddress(field(group, 'final-recipient'));
      const status = enhancedStatusOf(field(group, 'status') ?? '');
      const diagnostic = field(group, 'diagnostic-code');
      const remote = field(group, 'remote-mta');
      return {
        ...(recipient ? { recipient } : {}),
        action: (field(group, 'action') ?? '').toLowerCase().trim(),
        ...(status ? { status } : {}),
        // `smtp; 550 5.1.1 …`: the diagnostic type is dropped, the server's words stay.
        ...(diagnostic ? { diagnostic: diagnostic.replace(/^\s*[\w-]+\s*;\s*/, '') } : {}),
        ...(remote ? { remote: typedAddress(remote) ?? remote.replace(/^[\w-]+;\s*/, '') } : {}),
      };
    });
}

/**
 * Reads a Status and Diagnostic-Code through the SMTP answer table. A generic Status
 * (`5.0.0`) gives way to a more specific code of the same class in the diagnostic.
 */
export function classifyRecipientStatus(entry: RecipientStatus): AnswerClass {
  const text = entry.diagnostic ?? entry.status ?? '';
  const quoted = enhancedStatusOf(text);
  const generic = !entry.status || /^\d\.0\.0$/.test(entry.status);
  const status = generic && quoted && (!entry.status || quoted[0] === entry.status[0]) ? quoted : (entry.status ?? quoted);
  const code = /^\s*([245]\d\d)\b/.exec(text)?.[1];
  return classifySmtpAnswer({ text, ...(status ? { status } : {}), ...(code ? { code: Number(code) } : {}) });
}

/**
 * What a failed delivery means for the reader. A report that gave up after days of 4xx
 * (Status 4.x.x, Action failed) is a soft bounce, unless the answers were a verdict on the
 * sender, which stays the sender's problem.
 */
export function failureEvent(answer: AnswerClass): { kind: 'bounce'; severity: 'hard' | 'soft' } | { kind: 'rejected' } {
  switch (answer.kind) {
    case 'hard':
      return { kind: 'bounce', severity: 'hard' };
    case 'policy':
    case 'setup':
      return { kind: 'rejected' };
    case 'transient':
      return answer.meaning === 'policy' || answer.meaning === 'setup' ? { kind: 'rejected' } : { kind: 'bounce', severity: 'soft' };
    default:
      return { kind: 'bounce', severity: 'soft' };
  }
}

export async function parseDsn(mail: Mail): Promise<ReturnEvent[]> {
  const part = mail.parts.find((p) => STATUS_PARTS.has(p.contentType))!;
  const entries = recipientStatuses(part.content.toString('utf8'));
  const base = { source: mail.context.source, at: mail.at };
  if (entries.length === 0) return [{ kind: 'unparseable', reason: 'delivery report without recipient fields', ...base }];
  const failed = entries.filter((e) => e.action === 'failed');
  const events: ReturnEvent[] = [];
  for (const entry of entries) {
    if (entry.action !== 'failed') {
      const why = entry.action === 'delayed' ? 'delivery delayed; the sending server keeps trying' : `delivery report says "${entry.action || 'no action'}"`;
      events.push({ kind: 'ignored', reason: why, ...base });
      continue;
    }
    const answer = classifyRecipientStatus(entry);
    const reader = await attribute(mail, entry.recipient, failed.length === 1);
    const key = eventKey(mail, entry.recipient, entry.status);
    const common = { key, ...base, reader, reason: answer.reason, rule: answer.rule, ...(answer.status ? { status: answer.status } : {}) };
    const outcome = failureEvent(answer);
    events.push(outcome.kind === 'bounce' ? { kind: 'bounce', severity: outcome.severity, ...common } : { kind: 'rejected', ...common });
  }
  return events;
}
