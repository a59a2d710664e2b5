import { isDepescheError } from '../../errors.ts';
import type { ReturnEvent } from '../types.ts';
import { isArf, parseArf } from './arf.ts';
import { autoReplyReason, isVacationReply } from './auto-reply.ts';
import { looksLikeBounce, parseTextBounce } from './bounce-text.ts';
import { isDsn, parseDsn } from './dsn.ts';
import { readMail, type ParseContext } from './mail.ts';
import { isUnsubscribeRequest, parseUnsubscribe } from './unsubscribe.ts';

export type { ParseContext } from './mail.ts';

/**
 * Turns one message that came back into return events. The stages run in this order, and
 * the first that recognizes the message decides:
 * 1. a complaint (ARF, RFC 5965);
 * 2. a delivery status notification (RFC 3464);
 * 3. a bounce in plain text (qmail, Exim, GMX/web.de, older Exchange);
 * 4. a request to the unsubscribe mailto (unless it is a vacation notice sent there);
 * 5. an auto-reply (RFC 3834 and the usual subjects): ignored;
 * 6. anything else: unparseable, to be kept and looked at.
 * Reports come before auto-replies because DSNs carry `Auto-Submitted` too.
 *
 * Never throws for what the message contains: a message mailparser cannot read, or one no
 * stage recognizes, becomes an `unparseable` event with the reason. It throws (E_REDIS) only
 * when the Message-ID lookup fails, so the caller can ask for the report again later.
 */
export async function parseReturnMail(raw: Buffer, context: ParseContext): Promise<ReturnEvent[]> {
  const base = { source: context.source, at: (context.receivedAt ?? new Date()).toISOString() };
  let mail;
  try {
    mail = await readMail(raw, context);
  } catch (error) {
    return [{ kind: 'unparseable', reason: `not a readable message: ${error instanceof Error ? error.message : String(error)}`, ...base }];
  }
  try {
    if (isArf(mail)) return await parseArf(mail);
    if (isDsn(mail)) return await parseDsn(mail);
    if (looksLikeBounce(mail)) return await parseTextBounce(mail);
    if (isUnsubscribeRequest(mail) && !isVacationReply(mail)) return parseUnsubscribe(mail);
    const auto = autoReplyReason(mail);
    if (auto) return [{ kind: 'ignored', reason: `auto-reply (${auto})`, source: context.source, at: mail.at }];
    const what = mail.ours.report ? 'a message to a report mailbox' : 'a message';
    return [{ kind: 'unparseable', reason: `${what} that is no bounce, complaint, auto-reply or unsubscribe request`, source: context.source, at: mail.at }];
  } catch (error) {
    if (isDepescheError(error) && error.code === 'E_REDIS') throw error;
    // A parser stage failing on odd input is a bug to fix, but the message must still be kept.
    return [{ kind: 'unparseable', reason: `parser failed: ${error instanceof Error ? error.message : String(error)}`, source: context.source, at: mail.at }];
  }
}
