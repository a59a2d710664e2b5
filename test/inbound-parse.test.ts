import { describe, expect, it } from 'vitest';
import { parseReturnMail, type ParseContext } from '../src/inbound/parse/index.ts';
import type { ReturnEvent } from '../src/inbound/types.ts';
import { CAMPAIGN, fixture, READER, testAddresses } from './support/returns.ts';

const addresses = testAddresses();
const viaSmtp = (raw: Buffer, extra: Partial<ParseContext> = {}) =>
  parseReturnMail(raw, { source: 'smtp', addresses, envelope: { from: '', to: [addresses.bounceAddress(READER)!] }, ...extra });
const viaImap = (raw: Buffer, extra: Partial<ParseContext> = {}) => parseReturnMail(raw, { source: 'imap', addresses, ...extra });

const byToken = { campaignId: READER.campaignId, subscriberId: READER.subscriberId, by: 'verp' };

function only(events: ReturnEvent[]): ReturnEvent {
  expect(events).toHaveLength(1);
  return events[0]!;
}

describe('delivery status notifications (RFC 3464)', () => {
  it('Postfix: 5.1.1 user unknown is a hard bounce for the reader the return path names', async () => {
    const event = only(await viaSmtp(fixture('postfix-dsn-user-unknown.eml')));
    expect(event).toMatchObject({ kind: 'bounce', severity: 'hard', status: '5.1.1', reader: { ...byToken, email: 'jan.weber@example.net' } });
    expect(event.kind === 'bounce' && event.reason).toMatch(/^550 5\.1\.1 .*User unknown in virtual mailbox table$/);
  });

  it('Postfix relaying Gmail\'s spam verdict: rejected, the reader is not bounced', async () => {
    const event = only(await viaSmtp(fixture('postfix-dsn-gmail-spam.eml')));
    expect(event).toMatchObject({ kind: 'rejected', status: '5.7.1', rule: 'policy-text', reader: byToken });
  });

  it('Postfix delay warning: ignored', async () => {
    expect(only(await viaSmtp(fixture('postfix-dsn-delayed.eml')))).toMatchObject({ kind: 'ignored', reason: expect.stringMatching(/delayed/) });
  });

  it('Postfix giving up after days of timeouts (Status 4.4.1, Action failed): a soft bounce', async () => {
    expect(only(await viaSmtp(fixture('postfix-dsn-expired.eml')))).toMatchObject({ kind: 'bounce', severity: 'soft', status: '4.4.1', reader: byToken });
  });

  it('Office 365: "550 5.4.1 Access denied" is a dead mailbox', async () => {
    const event = only(await viaSmtp(fixture('o365-ndr-access-denied.eml')));
    expect(event).toMatchObject({ kind: 'bounce', severity: 'hard', rule: 'o365-edge-block', reader: { ...byToken, email: 's.hoffmann@contoso.example' } });
  });

  it('Gmail, to a mailbox without VERP: the original Message-ID names the reader when the campaign side resolves it', async () => {
    const raw = fixture('gmail-dsn-no-verp.eml');
    const resolved = only(
      await viaImap(raw, {
        resolveMessageId: async (id) => (id === `<${CAMPAIGN}.${READER.subscriberId}.r1@example.org>` ? { ...READER } : null),
      }),
    );
    expect(resolved).toMatchObject({ kind: 'bounce', severity: 'hard', reader: { ...READER, by: 'message-id', email: 'a.novak@example.net' } });
    // Without a resolver, the address and the campaign header of the original remain.
    expect(only(await viaImap(raw))).toMatchObject({ reader: { by: 'address', email: 'a.novak@example.net', campaignId: CAMPAIGN } });
  });

  it('a report that names several failed recipients attributes none of them to the one token', async () => {
    const text = fixture('postfix-dsn-user-unknown.eml')
      .toString()
      .replace(
        'Diagnostic-Code: smtp; 550 5.1.1 <jan.weber@example.net>: Recipient address\r\n    rejected: User unknown in virtual mailbox table\r\n',
        'Diagnostic-Code: smtp; 550 5.1.1 <jan.weber@example.net>: Recipient address\r\n    rejected: User unknown in virtual mailbox table\r\n\r\nFinal-Recipient: rfc822; eva@example.net\r\nAction: failed\r\nStatus: 5.2.2\r\nDiagnostic-Code: smtp; 552 5.2.2 mailbox full\r\n',
      );
    const events = await viaSmtp(Buffer.from(text));
    expect(events.map((e) => e.kind === 'bounce' && [e.severity, e.reader.email, e.reader.by, e.reader.subscriberId])).toEqual([
      ['hard', 'jan.weber@example.net', 'address', undefined],
      ['soft', 'eva@example.net', 'address', undefined],
    ]);
  });
});

describe('bounces in plain text', () => {
  it('Exim: 552 5.2.2 mailbox full is a soft bounce', async () => {
    const event = only(await viaSmtp(fixture('exim-mailbox-full.eml')));
    expect(event).toMatchObject({ kind: 'bounce', severity: 'soft', status: '5.2.2', reader: { ...byToken, email: 'petra.krause@example.com' } });
  });

  it('qmail relaying Yahoo: "dd This user doesn\'t have a yahoo.com account" under 554 is hard', async () => {
    expect(only(await viaSmtp(fixture('qmail-yahoo.eml')))).toMatchObject({
      kind: 'bounce',
      severity: 'hard',
      rule: 'mailbox-gone-text',
      reader: { ...byToken, email: 'lea.schmidt@yahoo.com' },
    });
  });

  it('GMX, for a web.de reader: "550 Requested action not taken: mailbox unavailable" is hard', async () => {
    expect(only(await viaSmtp(fixture('gmx-mailbox-unavailable.eml')))).toMatchObject({
      kind: 'bounce',
      severity: 'hard',
      reader: { ...byToken, email: 'leser.mueller@web.de' },
    });
  });

  it('Exchange without a DSN part, read from a mailbox: the token in the quoted Return-Path names the reader', async () => {
    const event = only(await viaImap(fixture('exchange-legacy-ndr.eml')));
    expect(event).toMatchObject({ kind: 'bounce', severity: 'hard', status: '5.1.10', reader: { ...byToken, email: 'm.becker@fabrikam.example' } });
  });

  it('a bounce that names no answer is kept, not guessed', async () => {
    const raw = Buffer.from('From: MAILER-DAEMON@mail.example.net\r\nTo: x@example.org\r\nSubject: failure notice\r\n\r\nSomething went wrong with bob@example.com.\r\n');
    expect(only(await viaImap(raw))).toMatchObject({ kind: 'unparseable', reason: expect.stringMatching(/no server answer/) });
  });
});

describe('complaints (ARF, RFC 5965)', () => {
  it('Yahoo CFL with the recipient redacted: the original\'s return path names the reader', async () => {
    const event = only(await viaImap(fixture('arf-yahoo.eml')));
    expect(event).toMatchObject({ kind: 'complaint', feedbackType: 'abuse', reporter: 'Yahoo!-Mail-Feedback/2.0', reader: byToken });
    expect(event.kind === 'complaint' && event.reader.email).toBeUndefined();
  });

  it('Microsoft JMRP: the List-Unsubscribe token of the original names the reader', async () => {
    const event = only(await viaImap(fixture('arf-microsoft-jmrp.eml')));
    expect(event).toMatchObject({ kind: 'complaint', feedbackType: 'abuse', reader: { ...byToken, email: 'ana.garcia@outlook.com' } });
  });

  it('a not-spam report is no complaint', async () => {
    const raw = Buffer.from(fixture('arf-yahoo.eml').toString().replace('Feedback-Type: abuse', 'Feedback-Type: not-spam'));
    expect(only(await viaImap(raw))).toMatchObject({ kind: 'ignored' });
  });
});

describe('auto-replies (RFC 3834) and other mail', () => {
  it('a German vacation notice is ignored', async () => {
    expect(only(await viaSmtp(fixture('autoreply-abwesenheit.eml')))).toMatchObject({ kind: 'ignored', reason: expect.stringMatching(/auto-reply/) });
  });

  it('an Exchange "Automatic reply" without Auto-Submitted is ignored by its subject', async () => {
    expect(only(await viaSmtp(fixture('autoreply-exchange-oof.eml')))).toMatchObject({ kind: 'ignored' });
  });

  it('a person writing to the return path is kept for a human to read', async () => {
    expect(only(await viaSmtp(fixture('human-reply.eml')))).toMatchObject({ kind: 'unparseable' });
  });

  it('bytes that are no message at all are unparseable, not a crash', async () => {
    const junk = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919) % 256));
    expect(only(await viaSmtp(junk))).toMatchObject({ kind: 'unparseable' });
    expect(only(await viaSmtp(Buffer.alloc(0)))).toMatchObject({ kind: 'unparseable' });
  });
});

describe('unsubscribes by mail', () => {
  it('to unsubscribe+<token>: the signed reader leaves', async () => {
    const event = only(await viaImap(fixture('unsubscribe-token.eml')));
    expect(event).toMatchObject({ kind: 'unsubscribe', legacy: false, reader: { ...byToken, email: 'mei.lin@gmail.com' } });
  });

  it('to the token-less mailto of older mails: the sender address, marked legacy, when the envelope sender agrees with the From', async () => {
    const event = only(await viaSmtp(fixture('unsubscribe-legacy.eml'), { envelope: { from: 'Ole.Hansen@example.no', to: ['unsubscribe@example.org'] } }));
    expect(event).toMatchObject({ kind: 'unsubscribe', legacy: true, reader: { email: 'ole.hansen@example.no', by: 'sender' } });
    // From a mailbox, the Return-Path the final delivery wrote stands for the envelope.
    expect(only(await viaImap(fixture('unsubscribe-legacy.eml')))).toMatchObject({ reader: { by: 'sender' } });
  });

  it('to the token-less mailto with another envelope sender, or none: only the address, which acts on nobody', async () => {
    const other = only(await viaSmtp(fixture('unsubscribe-legacy.eml'), { envelope: { from: 'prankster@example.com', to: ['unsubscribe@example.org'] } }));
    expect(other).toMatchObject({ kind: 'unsubscribe', legacy: true, reader: { email: 'ole.hansen@example.no', by: 'address' } });
    const bounceOfIt = only(await viaSmtp(fixture('unsubscribe-legacy.eml'), { envelope: { from: '', to: ['unsubscribe@example.org'] } }));
    expect(bounceOfIt).toMatchObject({ reader: { by: 'address' } });
    const noReturnPath = Buffer.from(fixture('unsubscribe-legacy.eml').toString().replace(/^Return-Path:[^\n]*\n/, ''));
    expect(only(await viaImap(noReturnPath))).toMatchObject({ reader: { by: 'address' } });
  });

  it('a vacation notice sent to the unsubscribe address unsubscribes nobody', async () => {
    const raw = Buffer.from(fixture('unsubscribe-token.eml').toString().replace('Subject: unsubscribe', 'Subject: Out of office\r\nAuto-Submitted: auto-replied'));
    expect(only(await viaImap(raw))).toMatchObject({ kind: 'ignored' });
  });
});

describe('tokens and keys', () => {
  it('a token signed with another secret names nobody', async () => {
    const forged = fixture('postfix-dsn-user-unknown.eml', READER, testAddresses('another-secret-of-at-least-32-characters'));
    const event = only(await viaImap(forged));
    expect(event).toMatchObject({ kind: 'bounce', reader: { by: 'address', email: 'jan.weber@example.net' } });
    expect(event.kind === 'bounce' && event.reader.subscriberId).toBeUndefined();
  });

  it('the same report read twice has the same key; another report another key', async () => {
    const [a] = await viaSmtp(fixture('postfix-dsn-user-unknown.eml'));
    const [b] = await viaImap(fixture('postfix-dsn-user-unknown.eml'));
    const [c] = await viaSmtp(fixture('exim-mailbox-full.eml'));
    expect(a && 'key' in a && a.key).toBe(b && 'key' in b && b.key);
    expect(a && 'key' in a && a.key).not.toBe(c && 'key' in c && c.key);
  });
});
