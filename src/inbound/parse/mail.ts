import { createHash } from 'node:crypto';
import { simpleParser, type ParsedMail } from 'mailparser';
import type { VerpClaims } from '../verp.ts';
import { attributeReader } from '../attribution.ts';
import type { ReturnAddresses } from '../return-addresses.ts';
import type { MessageIdResolver, ReaderRef, ReturnSource } from '../types.ts';
import { addressesIn, headerFields, type Fields } from './fields.ts';
import { leafParts } from './mime-parts.ts';

/** What a parser is told besides the message. */
export interface ParseContext {
  source: Extract<ReturnSource, 'smtp' | 'imap'>;
  addresses: ReturnAddresses;
  /** The SMTP envelope, when the message came to the listener; a mailbox has none. */
  envelope?: { from: string; to: string[] };
  resolveMessageId?: MessageIdResolver;
  /** When it arrived; defaults to now. */
  receivedAt?: Date;
}

/** Which of our addresses a message was sent to, read from the envelope and the delivery headers. */
export interface OurRecipients {
  bounce?: VerpClaims;
  unsubscribe?: VerpClaims;
  unsubscribeLegacy: boolean;
  report: boolean;
  /** Addresses of our form whose token was not genuine. */
  forged: string[];
}

/** A message read once, with what every stage of the parser looks at. */
export interface Mail {
  raw: Buffer;
  parsed: ParsedMail;
  /** The top-level header as written (mailparser folds some fields into objects; these stay text). */
  header: Fields;
  from?: string;
  subject: string;
  /** `report-type` of a multipart/report, lower-cased. */
  reportType?: string;
  /** The leaf parts of a multipart message, decoded, attached messages kept whole. */
  parts: { contentType: string; content: Buffer }[];
  /** Header of the returned original message, when the report carries one. */
  original?: Fields;
  ours: OurRecipients;
  /** Identifies this report across deliveries: its Message-ID, or a digest of its bytes. */
  reportId: string;
  at: string;
  context: ParseContext;
}

const ORIGINAL_TYPES = new Set(['message/rfc822', 'text/rfc822-headers', 'message/global', 'message/global-headers', 'message/rfc822-headers']);

function findOurRecipients(context: ParseContext, header: Fields): OurRecipients {
  const candidates = [
    ...(context.envelope?.to ?? []),
    ...(header.get('delivered-to') ?? []).flatMap(addressesIn),
    ...(header.get('x-original-to') ?? []).flatMap(addressesIn),
    ...(header.get('envelope-to') ?? []).flatMap(addressesIn),
    ...(header.get('to') ?? []).flatMap(addressesIn),
    ...(header.get('cc') ?? []).flatMap(addressesIn),
  ];
  const ours: OurRecipients = { unsubscribeLegacy: false, report: false, forged: [] };
  for (const address of candidates) {
    const found = context.addresses.recognize(address);
    if (!found) continue;
    if (found.kind === 'bounce') ours.bounce ??= found.claims;
    else if (found.kind === 'unsubscribe') ours.unsubscribe ??= found.claims;
    else if (found.kind === 'unsubscribe-legacy') ours.unsubscribeLegacy = true;
    else if (found.kind === 'report') ours.report = true;
    else ours.forged.push(address);
  }
  return ours;
}

/**
 * Reads a message: mailparser for the header and the readable text, and the MIME parts
 * one by one for the report parsers (`message/delivery-status`, `message/feedback-report`,
 * the returned original), which read their fields themselves.
 */
export async function readMail(raw: Buffer, context: ParseContext): Promise<Mail> {
  const parsed = await simpleParser(raw, {
    keepDeliveryStatus: true,
    skipImageLinks: true,
    skipTextToHtml: true,
    skipTextLinks: true,
  } as Parameters<typeof simpleParser>[1]);
  const header = headerFields(raw.subarray(0, Math.min(raw.length, 256 * 1024)).toString('latin1'));
  const contentType = parsed.headers.get('content-type') as { value?: string; params?: Record<string, string> } | undefined;
  const parts = contentType?.value?.startsWith('multipart/') ? await leafParts(raw) : [];
  const originalPart = parts.find((p) => ORIGINAL_TYPES.has(p.contentType));
  const messageId = parsed.messageId;
  return {
    raw,
    parsed,
    header,
    ...(parsed.from?.value[0]?.address ? { from: parsed.from.value[0].address } : {}),
    subject: parsed.subject ?? '',
    ...(contentType?.value === 'multipart/report' && contentType.params?.['report-type']
      ? { reportType: contentType.params['report-type'].toLowerCase() }
      : {}),
    parts,
    ...(originalPart ? { original: headerFields(originalPart.content.toString('utf8')) } : {}),
    ours: findOurRecipients(context, header),
    reportId: messageId ? `mid:${messageId}` : `sha256:${createHash('sha256').update(raw).digest('hex')}`,
    at: (parsed.date && !Number.isNaN(parsed.date.getTime()) ? parsed.date : (context.receivedAt ?? new Date())).toISOString(),
    context,
  };
}

/** A dedupe key for one event drawn from one report: the same report read twice gives the same key. */
export function eventKey(mail: Mail, ...parts: (string | undefined)[]): string {
  return `mail:${createHash('sha256')
    .update([mail.reportId, ...parts.map((p) => p ?? '')].join('\0'))
    .digest('hex')
    .slice(0, 40)}`;
}

/** Who a report read from a message is about; see `attributeReader`. */
export function attribute(mail: Mail, email: string | undefined, single = true): Promise<ReaderRef> {
  const tokens = [mail.ours.bounce, mail.ours.unsubscribe].filter((t): t is VerpClaims => t !== undefined);
  return attributeReader({
    addresses: mail.context.addresses,
    resolveMessageId: mail.context.resolveMessageId,
    tokens,
    original: mail.original,
    email,
    single,
  });
}
