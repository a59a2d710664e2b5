import { randomBytes } from 'node:crypto';

/**
 * What a receiving mail system sends back, played by the dev SMTP server: a mail to
 * `bounce@example.org` comes back as a delivery report for a mailbox that does not exist,
 * `full@example.org` as one for a full mailbox, and `complain@example.org` as a spam
 * complaint in the Abuse Reporting Format, each addressed to the message's envelope sender
 * (its VERP return path) as a real relay or feedback loop would. `depesche dev` feeds them
 * to its own `depesche inbound`, so an editor sees a bounce arrive; tests use the same
 * reports to play a relay that accepts a message and returns a report later.
 *
 * Only the reserved domain example.org (RFC 2606) triggers this, so no real address ever does.
 */

export type SimulatedReturn = 'bounce' | 'full' | 'complain';

const TRIGGERS: Record<string, SimulatedReturn> = {
  'bounce@example.org': 'bounce',
  'full@example.org': 'full',
  'complain@example.org': 'complain',
};

/** Which report a mail to `recipient` asks for, if any. */
export function simulatedReturnFor(recipient: string): SimulatedReturn | undefined {
  return TRIGGERS[recipient.trim().toLowerCase()];
}

export interface ReportInput {
  kind: SimulatedReturn;
  /** The message's envelope sender: where the report goes. */
  returnPath: string;
  recipient: string;
  /** The message as the relay accepted it (its header is quoted in the report). */
  original: Buffer | string;
  /** Host name the report claims to come from. @defaultValue 'mx.example.org' */
  reportingMta?: string;
  now?: Date;
}

const ANSWERS = {
  bounce: { status: '5.1.1', diagnostic: '550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown in virtual mailbox table' },
  full: { status: '5.2.2', diagnostic: '552 5.2.2 <{rcpt}>: Mailbox full, over quota' },
} as const;

/** The original's header block, with the Return-Path a delivering server puts on top. */
function originalHeader(original: Buffer | string, returnPath: string): string {
  const text = Buffer.isBuffer(original) ? original.toString('utf8') : original;
  const end = text.search(/\r?\n\r?\n/);
  const head = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n/g, '\r\n');
  return `Return-Path: <${returnPath}>\r\n${head.replace(/^Return-Path:.*\r\n/im, '')}\r\n`;
}

/** The report as raw RFC 5322 text with CRLF line ends, ready to hand to an SMTP client. */
export function simulatedReport(input: ReportInput): Buffer {
  const mta = input.reportingMta ?? 'mx.example.org';
  const now = input.now ?? new Date();
  const date = now.toUTCString().replace('GMT', '+0000');
  const boundary = `=_report_${randomBytes(8).toString('hex')}`;
  const id = `<${now.getTime()}.${randomBytes(6).toString('hex')}@${mta}>`;
  const quoted = originalHeader(input.original, input.returnPath);
  const lines: string[] = [];
  if (input.kind === 'complain') {
    lines.push(
      `From: Feedback Loop <fbl@${mta}>`,
      `To: <${input.returnPath}>`,
      `Subject: Complaint about a message to ${input.recipient}`,
      `Date: ${date}`,
      `Message-ID: ${id}`,
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type=feedback-report; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      'A reader marked this message as spam (simulated by the Depesche dev server).',
      '',
      `--${boundary}`,
      'Content-Type: message/feedback-report',
      '',
      'Feedback-Type: abuse',
      'User-Agent: depesche-dev-fbl/1.0',
      'Version: 1',
      `Original-Rcpt-To: <${input.recipient}>`,
      `Original-Mail-From: <${input.returnPath}>`,
      `Arrival-Date: ${date}`,
      '',
      `--${boundary}`,
      'Content-Type: text/rfc822-headers',
      '',
    );
  } else {
    const answer = ANSWERS[input.kind];
    const diagnostic = answer.diagnostic.replace('{rcpt}', input.recipient);
    lines.push(
      `From: Mail Delivery System <MAILER-DAEMON@${mta}>`,
      `To: <${input.returnPath}>`,
      'Subject: Undelivered Mail Returned to Sender',
      `Date: ${date}`,
      `Message-ID: ${id}`,
      'Auto-Submitted: auto-replied',
      'MIME-Version: 1.0',
      `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
      '',
      `--${boundary}`,
      'Content-Type: text/plain; charset=utf-8',
      '',
      `Your message could not be delivered to <${input.recipient}> (simulated by the Depesche dev server):`,
      diagnostic,
      '',
      `--${boundary}`,
      'Content-Type: message/delivery-status',
      '',
      `Reporting-MTA: dns; ${mta}`,
      `Arrival-Date: ${date}`,
      '',
      `Final-Recipient: rfc822; ${input.recipient}`,
      'Action: failed',
      `Status: ${answer.status}`,
      `Diagnostic-Code: smtp; ${diagnostic}`,
      '',
      `--${boundary}`,
      'Content-Type: text/rfc822-headers',
      '',
    );
  }
  return Buffer.from(`${lines.join('\r\n')}\r\n${quoted}\r\n--${boundary}--\r\n`, 'utf8');
}
