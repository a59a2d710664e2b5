import nodemailer from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { Config } from '../config/schema.ts';
import type { SentInfo, Transport } from './types.ts';

/**
 * Pooled SMTP through nodemailer. `maxRequeues: 0` because the delivery ledger and
 * BullMQ own retries: a pool that quietly re-sends after a dropped connection could
 * deliver a message twice.
 */
export function createSmtpTransport(config: Pick<Config, 'SMTP_URL' | 'SMTP_POOL_SIZE'>): Transport {
  const transporter = nodemailer.createTransport({
    url: config.SMTP_URL,
    pool: true,
    maxConnections: config.SMTP_POOL_SIZE,
    maxMessages: Infinity,
    maxRequeues: 0,
  } as SMTPPool.Options & { maxRequeues: number; url: string });
  return {
    async sendMail(message) {
      const info = (await transporter.sendMail(message)) as { messageId: string; response: string };
      return { messageId: info.messageId, response: info.response } satisfies SentInfo;
    },
    async close() {
      transporter.close();
    },
  };
}
