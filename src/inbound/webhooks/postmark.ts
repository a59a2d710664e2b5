import { timingSafeEqual, createHash } from 'node:crypto';
import { answerReason, classifySmtpAnswer } from '../../transport/smtp-answers.ts';
import type { ReturnEvent } from '../types.ts';
import { readerFromMetadata } from './metadata.ts';
import type { WebhookContext } from './ses.ts';

/**
 * Postmark webhooks (bounce, spam complaint, subscription change). Postmark does not sign
 * them; the webhook URL carries basic-auth credentials instead, which only https keeps
 * secret. Postmark's bounce `Type` gives its verdict; the remote answer in `Details` goes
 * through the SMTP answer table too, so a blocklisting filed as a hard bounce stays the
 * sender's problem.
 */

const HARD = new Set(['HardBounce', 'BadEmailAddress']);
const SOFT = new Set(['SoftBounce', 'Transient', 'DnsError', 'Unknown']);
const SENDER = new Set(['Blocked', 'DMARCPolicy', 'SpamNotification', 'VirusNotification']);

/** Compares `Authorization: Basic …` with the configured pair in constant time. */
export function basicAuthMatches(header: string | undefined, user: string, password: string): boolean {
  if (!header?.startsWith('Basic ')) return false;
  const digest = (value: string) => createHash('sha256').update(value).digest();
  const given = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  return timingSafeEqual(digest(given), digest(`${user}:${password}`));
}

interface PostmarkPayload {
  RecordType?: string;
  ID?: number | string;
  Type?: string;
  Email?: string;
  Recipient?: string;
  BouncedAt?: string;
  ReceivedAt?: string;
  ChangedAt?: string;
  Details?: string;
  Description?: string;
  MessageID?: string;
  Metadata?: Record<string, unknown>;
  SuppressSending?: boolean;
  SuppressionReason?: string;
  Origin?: string;
}

export async function postmarkEvents(body: unknown, context: WebhookContext): Promise<ReturnEvent[]> {
  const now = new Date().toISOString();
  const p = (body ?? {}) as PostmarkPayload;
  const email = p.Email ?? p.Recipient;
  const key = `postmark:${p.RecordType}:${p.ID ?? p.MessageID ?? ''}:${email ?? ''}`;
  const reader = () => readerFromMetadata(p.Metadata, email, undefined, context);
  if (p.RecordType === 'Bounce' && p.Type) {
    const at = p.BouncedAt ?? now;
    const text = p.Details || p.Description || p.Type;
    const answer = classifySmtpAnswer({ text });
    const common = { key, source: 'postmark' as const, at, reason: answerReason(`${p.Type}: ${text}`), ...(answer.status ? { status: answer.status } : {}) };
    if (SENDER.has(p.Type) || answer.kind === 'policy' || answer.kind === 'setup') return [{ kind: 'rejected', ...common, reader: await reader(), rule: `postmark-${p.Type}` }];
    if (HARD.has(p.Type)) return [{ kind: 'bounce', severity: 'hard', ...common, reader: await reader(), rule: `postmark-${p.Type}` }];
    if (SOFT.has(p.Type)) return [{ kind: 'bounce', severity: 'soft', ...common, reader: await reader(), rule: `postmark-${p.Type}` }];
    if (p.Type === 'SpamComplaint') return [{ kind: 'complaint', key, source: 'postmark', at, reader: await reader(), feedbackType: 'abuse', reporter: 'Postmark' }];
    if (p.Type === 'Unsubscribe') return [{ kind: 'unsubscribe', key, source: 'postmark', at, reader: await reader(), legacy: false }];
    return [{ kind: 'ignored', reason: `Postmark bounce of type ${p.Type}`, source: 'postmark', at }];
  }
  if (p.RecordType === 'SpamComplaint') {
    return [{ kind: 'complaint', key, source: 'postmark', at: p.BouncedAt ?? now, reader: await reader(), feedbackType: 'abuse', reporter: 'Postmark' }];
  }
  if (p.RecordType === 'SubscriptionChange' && p.SuppressSending && p.SuppressionReason === 'ManualSuppression' && p.Origin === 'Recipient') {
    return [{ kind: 'unsubscribe', key, source: 'postmark', at: p.ChangedAt ?? now, reader: await reader(), legacy: false }];
  }
  return [{ kind: 'ignored', reason: `Postmark ${p.RecordType ?? 'record'} is not a bounce, complaint or unsubscribe`, source: 'postmark', at: now }];
}
