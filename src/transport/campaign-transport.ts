import { DepescheError } from '../errors.ts';
import { dkimSignerFromConfig } from './dkim.ts';
import { createSmtpClient } from './smtp-client.ts';
import type { SmtpTransportConfig } from './smtp.ts';
import type { OutgoingMessage, SentInfo, Transport } from './types.ts';

/**
 * The worker's transport: finished campaign messages, written as the builder's parts
 * through our own pooled SMTP client (smtp-client.ts, which says why not nodemailer) and
 * signed by our DKIM signer (dkim.ts), which canonicalises the parts an edition shares
 * once. Proofs and system mails, which nodemailer composes, keep nodemailer (smtp.ts).
 *
 * The client does not requeue anything on its own: the ledger and BullMQ own retries.
 * Its errors carry `responseCode`, `command` and `dataSent` as the ledger reads them.
 */
export function createCampaignTransport(config: SmtpTransportConfig): Transport {
  const dkim = dkimSignerFromConfig(config);
  const client = createSmtpClient({ url: config.SMTP_URL, poolSize: config.SMTP_POOL_SIZE, ...(dkim ? { dkim } : {}) });
  return {
    async sendMail(message: OutgoingMessage): Promise<SentInfo> {
      const { envelope, raw, messageId } = message as { envelope?: { from?: unknown; to?: unknown }; raw?: unknown; messageId?: unknown };
      const parts = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) && raw.every((p) => Buffer.isBuffer(p)) ? (raw as Buffer[]) : undefined;
      if (!parts || typeof envelope?.from !== 'string' || typeof envelope.to !== 'string' || typeof messageId !== 'string') {
        throw new DepescheError('E_SMTP', 'The campaign transport sends finished messages only: an envelope, a Message-ID and the message as buffers.');
      }
      const answer = await client.send({ envelope: { from: envelope.from, to: envelope.to }, messageId, raw: parts });
      return { messageId, response: answer.response };
    },
    close: () => client.close(),
  };
}
