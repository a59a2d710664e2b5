import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { Config } from '../config/schema.ts';
import { DepescheError } from '../errors.ts';
import type { SentInfo, Transport } from './types.ts';

import { DKIM_HEADERS, dkimSignerFromConfig, type DkimConfig } from './dkim.ts';

export { DKIM_HEADERS };

export type SmtpTransportConfig = Pick<Config, 'SMTP_URL' | 'SMTP_POOL_SIZE'> & DkimConfig;

/** nodemailer's DKIM (RSA only) for the mails it composes itself: proofs and system mails. */
function dkimOptions(config: SmtpTransportConfig) {
  if (!config.DKIM_DOMAIN || !config.DKIM_SELECTOR) return undefined;
  let privateKey = config.DKIM_PRIVATE_KEY;
  if (!privateKey && config.DKIM_PRIVATE_KEY_FILE) {
    try {
      privateKey = readFileSync(config.DKIM_PRIVATE_KEY_FILE, 'utf8');
    } catch (cause) {
      throw new DepescheError('E_CONFIG', `Cannot read DKIM_PRIVATE_KEY_FILE ${config.DKIM_PRIVATE_KEY_FILE}.`, {
        hint: 'Point it at the PEM file of the DKIM private key, or unset DKIM_* to send unsigned.',
        cause,
      });
    }
  }
  if (!privateKey) return undefined;
  return { domainName: config.DKIM_DOMAIN, keySelector: config.DKIM_SELECTOR, privateKey, headerFieldNames: DKIM_HEADERS };
}

/**
 * Pooled SMTP through nodemailer, as documented, for proofs and system mails (campaigns
 * send through campaign-transport.ts). `maxRequeues: 0` because the delivery ledger and
 * BullMQ own retries: a pool that quietly re-sends after a dropped connection could
 * deliver a message twice. Finished messages (`raw`) are signed by our DKIM signer (RSA
 * and Ed25519), mails nodemailer composes by nodemailer's (RSA).
 *
 * A failure without a server answer carries `dataSent`: whether the connection had begun
 * reading the message (after the server's 354). false means not a byte of it left, so
 * nothing can have arrived and a retry is safe; true means only the server knows.
 */
export function createSmtpTransport(config: SmtpTransportConfig): Transport {
  const dkim = dkimOptions(config);
  const signer = dkimSignerFromConfig(config);
  const transporter = nodemailer.createTransport({
    url: config.SMTP_URL,
    pool: true,
    maxConnections: config.SMTP_POOL_SIZE,
    maxMessages: Infinity,
    maxRequeues: 0,
  } as SMTPPool.Options & { maxRequeues: number; url: string });
  // The stream the connection reads is made late (after DKIM's processing is attached);
  // note it per message so a failure can tell whether any of it was sent.
  transporter.use('stream', (mail, done) => {
    const tracker = (mail.data as { [TRACK]?: Tracker })[TRACK];
    const message = mail.message as unknown as { createReadStream(...args: unknown[]): Readable };
    if (tracker) {
      const create = message.createReadStream.bind(message);
      message.createReadStream = (...args: unknown[]) => (tracker.stream = create(...args));
    }
    done();
  });
  return {
    async sendMail(message) {
      const tracker: Tracker = {};
      const { raw } = message as { raw?: unknown };
      const whole = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw as Buffer[]) : undefined;
      const options: SendMailOptions = whole ? { ...(message as SendMailOptions), raw: signer ? signer.sign(whole) : whole } : { ...(message as SendMailOptions), ...(dkim ? { dkim } : {}) };
      try {
        const info = (await transporter.sendMail({ ...options, [TRACK]: tracker } as unknown as SendMailOptions)) as { messageId: string; response: string };
        return { messageId: (message as { messageId?: string }).messageId ?? info.messageId, response: info.response } satisfies SentInfo;
      } catch (error) {
        if (error && typeof error === 'object') Object.assign(error, { dataSent: tracker.stream?.readableDidRead === true });
        throw error;
      }
    },
    async close() {
      transporter.close();
    },
  };
}

const TRACK = '_depescheTracker';
interface Tracker {
  stream?: Readable;
}
