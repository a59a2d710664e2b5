import { answerReason, classifySmtpAnswer, enhancedStatusOf } from '../../transport/smtp-answers.ts';
import type { ReturnEvent } from '../types.ts';
import { failureEvent } from './dsn.ts';
import { addressesIn, headerFields } from './fields.ts';
import { attribute, eventKey, type Mail } from './mail.ts';

/**
 * Bounces in plain text, without a machine-readable part: qmail ("Hi. This is the
 * qmail-send program"), Exim and the servers built on it (GMX, web.de: "Mail delivery
 * failed: returning message to sender"), older Exchange ("Delivery has failed to these
 * recipients or groups … Remote Server returned '550 …'") and Postfix set up without DSNs.
 * What they share: a sender like MAILER-DAEMON or a subject like "Undelivered Mail", the
 * failed address, the remote server's answer somewhere in the text, and often a copy of the
 * original message below a marker line.
 */

const DAEMON_SENDER = /^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|bounce|bounces|mdaemon|double-bounce)@/i;
const BOUNCE_SUBJECT =
  /undeliver|not (?:be )?delivered|delivery (?:status notification|has failed|failure|failed|problem)|returned mail|returning message|failure notice|mail delivery failed|non-?delivery|nondeliverable|unzustellbar|nicht zugestellt|zustellung fehlgeschlagen|unzustellbare/i;
// Warnings that the sending server is still trying: nothing for the reader yet.
const DELAY_SUBJECT = /delay(?:ed)?\b|warning: (?:could not send|message .* delayed)|still (?:being )?retried|will retry|verzögert/i;

// The lines after which a bounce quotes the original message.
const ORIGINAL_MARKERS = [
  /^-+ ?This is a copy of the message,? including all the headers\.? ?-+$/im, // Exim, GMX, web.de
  /^--- ?Below this line is a copy of the message\.?$/im, // qmail
  /^Original message headers:$/im, // Exchange
  /^-+ ?(?:Original message|Undelivered message|Returned message) ?(?:follows)?-*$/im,
];

// One SMTP answer: the code, then its text, with the indented continuation lines that
// Exim and Postfix use when they wrap a long answer.
const ANSWER = /(?:^|[\s:'"(])([45]\d\d)[ -]([^\n]*(?:\n[ \t]+[^\n]+)*)/m;
const COMMAND_HINT = /(?:in reply to|after|for) (RCPT TO|MAIL FROM|DATA|end of data|RSET|HELO|EHLO)\b/i;

export function looksLikeBounce(mail: Mail): boolean {
  const fromDaemon = mail.from !== undefined && DAEMON_SENDER.test(mail.from);
  const displayName = mail.parsed.from?.value[0]?.name ?? '';
  return fromDaemon || /mail delivery (?:system|subsystem)/i.test(displayName) || BOUNCE_SUBJECT.test(mail.subject);
}

export function isDelayWarning(mail: Mail): boolean {
  return DELAY_SUBJECT.test(mail.subject) && !/fail|undeliver|returned/i.test(mail.subject);
}

/** The text of the bounce above its copy of the original, and that copy's header if there is one. */
function splitQuoted(text: string): { notice: string; original?: ReturnType<typeof headerFields> } {
  for (const marker of ORIGINAL_MARKERS) {
    const match = marker.exec(text);
    if (match) {
      const rest = text.slice(match.index + match[0].length).replace(/^\s*\n/, '');
      return { notice: text.slice(0, match.index), original: headerFields(rest) };
    }
  }
  return { notice: text };
}

interface FoundAnswer {
  code?: number;
  text: string;
  command?: string;
  index: number;
}

function findAnswer(notice: string): FoundAnswer | undefined {
  const match = ANSWER.exec(notice);
  if (match) {
    const index = match.index + match[0].indexOf(match[1]!);
    const words = match[2]!.replace(/\s*\n[ \t]+/g, ' ');
    // What follows the answer on the same sentence often says which command it answered.
    const after = notice.slice(index, index + match[0].length + 80);
    const command = COMMAND_HINT.exec(after)?.[1] ?? COMMAND_HINT.exec(notice.slice(Math.max(0, index - 200), index))?.[1];
    const text = `${match[1]} ${words}`
      .replace(/\s*\((?:in reply to|after) [^)]*\)\s*$/i, '')
      .replace(/'\s*$/, '')
      .trim();
    return { code: Number(match[1]), text, index, ...(command ? { command: command.toUpperCase() } : {}) };
  }
  // qmail and others sometimes give only the enhanced code: "(#5.1.1)".
  const status = enhancedStatusOf(notice);
  if (status) {
    const index = notice.indexOf(status);
    const lineStart = notice.lastIndexOf('\n', index) + 1;
    const lineEnd = notice.indexOf('\n', index);
    return { text: notice.slice(lineStart, lineEnd < 0 ? undefined : lineEnd).trim(), index };
  }
  return undefined;
}

/** The failed address: the last address before the answer that is not ours or a daemon's. */
function failedRecipient(mail: Mail, notice: string, answerAt: number): string | undefined {
  const ourDomains = new Set(mail.context.addresses.domains);
  const candidates = [...notice.matchAll(/[^\s<>"',;:()[\]]+@[a-z0-9.-]+\.[a-z]{2,}/gi)]
    .map((m) => ({ address: m[0], index: m.index }))
    .filter(({ address }) => !DAEMON_SENDER.test(address) && !ourDomains.has(address.split('@')[1]!.toLowerCase()));
  const before = candidates.filter((c) => c.index < answerAt);
  return (before.at(-1) ?? candidates[0])?.address;
}

export async function parseTextBounce(mail: Mail): Promise<ReturnEvent[]> {
  const base = { source: mail.context.source, at: mail.at };
  if (isDelayWarning(mail)) return [{ kind: 'ignored', reason: 'delay warning; the sending server keeps trying', ...base }];
  const text = mail.parsed.text ?? '';
  const { notice, original } = splitQuoted(text);
  if (original && !mail.original) mail.original = original;
  const found = findAnswer(notice);
  if (!found) return [{ kind: 'unparseable', reason: 'looks like a bounce, but names no server answer', ...base }];
  const answer = classifySmtpAnswer({ text: found.text, ...(found.code ? { code: found.code } : {}), ...(found.command ? { command: found.command } : {}) });
  const email = failedRecipient(mail, notice, found.index) ?? addressesIn(mail.original?.get('to')?.[0])[0];
  const reader = await attribute(mail, email);
  const common = {
    key: eventKey(mail, email, answer.status ?? String(found.code ?? '')),
    ...base,
    reader,
    reason: answerReason(answer.reason),
    rule: answer.rule,
    ...(answer.status ? { status: answer.status } : {}),
  };
  // A plain-text bounce is final: the server gave up. Read a 4xx in it like a DSN that gave up.
  const outcome = failureEvent(answer);
  return [outcome.kind === 'bounce' ? { kind: 'bounce', severity: outcome.severity, ...common } : { kind: 'rejected', ...common }];
}
