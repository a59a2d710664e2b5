// `depesche dev`'s return channel: the dev inbox plays the receiving mail systems. A mail
// to bounce@, full@ or complain@example.org comes back as the matching report (DSN or ARF,
// transport/dev-returns.ts), which lands in the inbox like any mail, and every mail the
// inbox gets for one of our return addresses (VERP return paths, the unsubscribe mailto) is
// handed on to the dev stack's own `depesche inbound`, which applies it. So an editor sees a
// bounce arrive in the inbox and the reader's state change in the ops console.
import nodemailer from 'nodemailer';
import { addressForLog, type ReturnAddresses } from '../inbound/return-addresses.ts';
import type { Logger } from '../log.ts';
import type { DevInbox, InboxMail } from '../transport/dev-inbox.ts';
import { simulatedReport, simulatedReturnFor } from '../transport/dev-returns.ts';

export interface DevReturnsOptions {
  inbox: DevInbox;
  /** Port of the dev stack's inbound SMTP listener (loopback). */
  inboundPort: number;
  addresses: ReturnAddresses;
  logger: Logger;
}

async function deliver(port: number, envelope: { from: string; to: string[] }, raw: Buffer | string): Promise<void> {
  const client = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  try {
    await client.sendMail({ envelope, raw });
  } finally {
    client.close();
  }
}

/** Starts listening to the inbox; returns a function that stops it. */
export function wireDevReturns(options: DevReturnsOptions): () => void {
  const { inbox, inboundPort, addresses, logger } = options;
  const ours = (address: string) => {
    const found = addresses.recognize(address);
    return found !== null && found.kind !== 'forged';
  };

  const handle = async (mail: InboxMail): Promise<void> => {
    const triggers = mail.envelope.to.filter((to) => simulatedReturnFor(to));
    const returns = mail.envelope.to.filter(ours);
    if (triggers.length === 0 && returns.length === 0) return;
    const message = await inbox.message(mail.id);
    if (!message) return;
    if (returns.length > 0) {
      await deliver(inboundPort, { from: mail.envelope.from, to: returns }, message.raw);
    }
    // A report goes to the envelope sender; with no sender (a report itself) nothing goes back.
    if (!mail.envelope.from) return;
    for (const recipient of triggers) {
      const kind = simulatedReturnFor(recipient)!;
      const report = simulatedReport({ kind, returnPath: mail.envelope.from, recipient, original: message.raw });
      await deliver(inbox.port, { from: '', to: [mail.envelope.from] }, report);
      logger.info({ kind, recipient, to: addressForLog(mail.envelope.from) }, 'dev: the inbox answered with a simulated report');
    }
  };

  const listener = (mail: InboxMail) => {
    handle(mail).catch((error: unknown) => logger.warn({ err: error instanceof Error ? error.message : String(error), mail: mail.id }, 'dev: could not pass a mail on to the return path'));
  };
  inbox.events.on('mail', listener);
  return () => inbox.events.off('mail', listener);
}
