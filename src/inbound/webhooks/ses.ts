import { classifySmtpAnswer, answerReason } from '../../transport/smtp-answers.ts';
import { attributeReader } from '../attribution.ts';
import { failureEvent } from '../parse/dsn.ts';
import type { Fields } from '../parse/fields.ts';
import type { ReturnAddresses } from '../return-addresses.ts';
import type { MessageIdResolver, ReturnEvent } from '../types.ts';

/**
 * Amazon SES notifications (the `Message` of an SNS notification): bounce and complaint
 * notifications (`notificationType`) and the same from configuration-set event publishing
 * (`eventType`). SES gives its own verdict (bounceType, bounceSubType) and the remote
 * server's answer (diagnosticCode); the answer goes through the same table as everywhere,
 * so a blocklisting that SES files as a permanent bounce stays the sender's problem.
 */

interface SesRecipient {
  emailAddress?: string;
  status?: string;
  diagnosticCode?: string;
}

interface SesNotification {
  notificationType?: string;
  eventType?: string;
  bounce?: { bounceType?: string; bounceSubType?: string; bouncedRecipients?: SesRecipient[]; timestamp?: string; feedbackId?: string };
  complaint?: { complainedRecipients?: SesRecipient[]; complaintFeedbackType?: string; timestamp?: string; feedbackId?: string; userAgent?: string };
  mail?: { messageId?: string; headers?: { name?: string; value?: string }[]; commonHeaders?: { messageId?: string } };
}

export interface WebhookContext {
  addresses: ReturnAddresses;
  resolveMessageId?: MessageIdResolver | undefined;
}

/** The original's header as SES reports it (`mail.headers`), for attribution. */
function originalHeader(notification: SesNotification): Fields {
  const fields: Fields = new Map();
  for (const { name, value } of notification.mail?.headers ?? []) {
    if (!name || value === undefined) continue;
    const key = name.toLowerCase();
    fields.set(key, [...(fields.get(key) ?? []), value]);
  }
  const id = notification.mail?.commonHeaders?.messageId;
  if (id && !fields.has('message-id')) fields.set('message-id', [id]);
  return fields;
}

// SES sub-types that are about the message, not the mailbox.
const CONTENT_SUBTYPES = new Set(['MessageTooLarge', 'ContentRejected', 'AttachmentRejected']);

export async function sesEvents(message: string, messageId: string, context: WebhookContext): Promise<ReturnEvent[]> {
  const now = new Date().toISOString();
  let notification: SesNotification;
  try {
    notification = JSON.parse(message) as SesNotification;
  } catch {
    return [{ kind: 'unparseable', reason: 'SES notification is not JSON', source: 'ses', at: now }];
  }
  const type = notification.notificationType ?? notification.eventType;
  const original = originalHeader(notification);
  if (type === 'Bounce' && notification.bounce) {
    const bounce = notification.bounce;
    const recipients = bounce.bouncedRecipients ?? [];
    const events: ReturnEvent[] = [];
    for (const recipient of recipients) {
      const at = bounce.timestamp ?? now;
      const reader = await attributeReader({ ...context, original, email: recipient.emailAddress, single: recipients.length === 1 });
      const key = `ses:${bounce.feedbackId ?? messageId}:${recipient.emailAddress ?? ''}`;
      const text = recipient.diagnosticCode?.replace(/^\s*[\w-]+\s*;\s*/, '') ?? `${bounce.bounceType} ${bounce.bounceSubType}`;
      const permanent = bounce.bounceType === 'Permanent';
      const answer = classifySmtpAnswer({ text, ...(recipient.status ? { status: recipient.status } : {}) });
      const common = { key, source: 'ses' as const, at, reader, reason: answerReason(text), ...(answer.status ? { status: answer.status } : {}) };
      if (CONTENT_SUBTYPES.has(bounce.bounceSubType ?? '')) {
        events.push({ kind: 'rejected', ...common, rule: `ses-${bounce.bounceSubType}` });
      } else if (!recipient.diagnosticCode) {
        // No server answer to read (e.g. SES's own suppression list): SES's verdict decides.
        events.push({ kind: 'bounce', severity: permanent ? 'hard' : 'soft', ...common, rule: `ses-${bounce.bounceType}-${bounce.bounceSubType}` });
      } else {
        const outcome = failureEvent(answer);
        events.push(outcome.kind === 'bounce' ? { kind: 'bounce', severity: outcome.severity, ...common, rule: answer.rule } : { kind: 'rejected', ...common, rule: answer.rule });
      }
    }
    return events.length > 0 ? events : [{ kind: 'unparseable', reason: 'SES bounce without recipients', source: 'ses', at: now }];
  }
  if (type === 'Complaint' && notification.complaint) {
    const complaint = notification.complaint;
    const recipients = complaint.complainedRecipients ?? [];
    const feedbackType = complaint.complaintFeedbackType ?? 'abuse';
    if (feedbackType === 'not-spam') return [{ kind: 'ignored', reason: 'SES complaint of type not-spam', source: 'ses', at: now }];
    const events: ReturnEvent[] = [];
    for (const recipient of recipients) {
      const reader = await attributeReader({ ...context, original, email: recipient.emailAddress, single: recipients.length === 1 });
      events.push({
        kind: 'complaint',
        key: `ses:${complaint.feedbackId ?? messageId}:${recipient.emailAddress ?? ''}`,
        source: 'ses',
        at: complaint.timestamp ?? now,
        reader,
        feedbackType,
        reporter: complaint.userAgent ?? 'Amazon SES',
      });
    }
    return events.length > 0 ? events : [{ kind: 'unparseable', reason: 'SES complaint without recipients', source: 'ses', at: now }];
  }
  return [{ kind: 'ignored', reason: `SES ${type ?? 'notification'} is not a bounce or complaint`, source: 'ses', at: now }];
}
