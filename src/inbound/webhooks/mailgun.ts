import { createHmac, timingSafeEqual } from 'node:crypto';
import { answerReason, classifySmtpAnswer } from '../../transport/smtp-answers.ts';
import { failureEvent } from '../parse/dsn.ts';
import type { ReturnEvent } from '../types.ts';
import { readerFromMetadata } from './metadata.ts';
import type { WebhookContext } from './ses.ts';

/**
 * Mailgun webhooks (JSON). Each carries `signature: { timestamp, token, signature }`, the
 * signature being HMAC-SHA256 of timestamp and token under the webhook signing key. A
 * genuine request is also recent (timestamp within a few minutes) and new (its token not
 * seen before), or a captured request could be sent again.
 */

export interface MailgunSignature {
  timestamp: string;
  token: string;
  signature: string;
}

export function mailgunSignatureOf(body: unknown): MailgunSignature | undefined {
  const s = (body as { signature?: Partial<MailgunSignature> } | null)?.signature;
  if (!s || typeof s.timestamp !== 'string' || typeof s.token !== 'string' || typeof s.signature !== 'string') return undefined;
  return s as MailgunSignature;
}

/** Whether the signature is Mailgun's, in constant time. */
export function mailgunSignatureValid(signature: MailgunSignature, signingKey: string): boolean {
  const expected = createHmac('sha256', signingKey).update(signature.timestamp + signature.token).digest();
  const given = Buffer.from(signature.signature, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface MailgunEvent {
  event?: string;
  id?: string;
  timestamp?: number;
  severity?: string;
  reason?: string;
  recipient?: string;
  'delivery-status'?: { code?: number; message?: string; description?: string; 'enhanced-code'?: string };
  message?: { headers?: { 'message-id'?: string } };
  'user-variables'?: Record<string, unknown>;
}

export async function mailgunEvents(body: unknown, context: WebhookContext): Promise<ReturnEvent[]> {
  const data = ((body as { 'event-data'?: MailgunEvent } | null)?.['event-data'] ?? {}) as MailgunEvent;
  const at = typeof data.timestamp === 'number' ? new Date(data.timestamp * 1000).toISOString() : new Date().toISOString();
  const key = `mailgun:${data.id ?? ''}:${data.recipient ?? ''}`;
  const reader = () => readerFromMetadata(data['user-variables'], data.recipient, data.message?.headers?.['message-id'], context);
  switch (data.event) {
    case 'failed': {
      // Temporary failures are retries in progress at Mailgun; only its final verdict counts.
      if (data.severity !== 'permanent') return [{ kind: 'ignored', reason: 'Mailgun temporary failure; Mailgun retries', source: 'mailgun', at }];
      const status = data['delivery-status'] ?? {};
      const text = [status.message, status.description].filter(Boolean).join(' ') || data.reason || 'failed';
      const answer = classifySmtpAnswer({ text, ...(status.code ? { code: status.code } : {}), ...(status['enhanced-code'] ? { status: status['enhanced-code'] } : {}) });
      // Mailgun refusing to send to an address that bounced before is a hard bounce by its record.
      const outcome = data.reason === 'suppress-bounce' ? ({ kind: 'bounce', severity: 'hard' } as const) : failureEvent(answer);
      const common = { key, source: 'mailgun' as const, at, reader: await reader(), reason: answerReason(text), rule: answer.rule, ...(answer.status ? { status: answer.status } : {}) };
      return [outcome.kind === 'bounce' ? { kind: 'bounce', severity: outcome.severity, ...common } : { kind: 'rejected', ...common }];
    }
    case 'complained':
      return [{ kind: 'complaint', key, source: 'mailgun', at, reader: await reader(), feedbackType: 'abuse', reporter: 'Mailgun' }];
    case 'unsubscribed':
      return [{ kind: 'unsubscribe', key, source: 'mailgun', at, reader: await reader(), legacy: false }];
    default:
      return [{ kind: 'ignored', reason: `Mailgun ${data.event ?? 'event'} is not a failure, complaint or unsubscribe`, source: 'mailgun', at }];
  }
}
