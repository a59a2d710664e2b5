import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool/index.js';
import type { Config } from '../config/schema.ts';
import { DepescheError } from '../errors.ts';
import './fast-data-stream.ts';
import type { OutgoingMessage, SentInfo, Transport } from './types.ts';

import { DKIM_HEADERS, dkimSignerFromConfig, type DkimConfig, type DkimSigner } from './dkim.ts';

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
 * Pooled SMTP through nodemailer. `maxRequeues: 0` because the delivery ledger and
 * BullMQ own retries: a pool that quietly re-sends after a dropped connection could
 * deliver a message twice.
 *
 * A failure without a server answer carries `dataSent`: whether the connection had begun
 * reading the message (after the server's 354). false means not a byte of it left, so
 * nothing can have arrived and a retry is safe; true means only the server knows.
 */
export function createSmtpTransport(config: SmtpTransportConfig): Transport {
  const dkim = dkimOptions(config);
  // Campaign messages are signed by our own signer (key parsed once, RSA and Ed25519) and
  // keep the direct path; see dkim.ts.
  const signer = dkimSignerFromConfig(config);
  const transporter = nodemailer.createTransport({
    url: config.SMTP_URL,
    pool: true,
    maxConnections: config.SMTP_POOL_SIZE,
    maxMessages: Infinity,
    maxRequeues: 0,
    ...(dkim ? { dkim } : {}),
  } as SMTPPool.Options & { maxRequeues: number; url: string });
  // The stream the connection reads is made late (after DKIM's processing is attached);
  // note it per message so a failure can tell whether any of it was sent.
  transporter.use('stream', (mail, done) => {
    const data = mail.data as { [TRACK]?: Tracker; raw?: unknown; dkim?: unknown };
    const tracker = data[TRACK];
    const message = mail.message as unknown as RawNode;
    const raw = data.raw;
    if (!dkim && !data.dkim && Buffer.isBuffer(raw) && endsInCrlf(raw)) {
      // A finished message in one buffer needs none of nodemailer's stages (a PassThrough,
      // a newline fixer and a pipeline whose teardown builds an AbortError, per message):
      // hand the connection the buffer as a one-chunk stream. Anything that would change
      // the bytes (DKIM, a transform, a process function) keeps nodemailer's own path.
      const create = message.createReadStream.bind(message);
      message.createReadStream = (...args: unknown[]) => {
        const direct = (message._transforms?.length ?? 0) === 0 && (message._processFuncs?.length ?? 0) === 0 && !message.newline;
        const stream = direct ? oneChunk(raw) : create(...args);
        if (tracker) tracker.stream = stream;
        return stream;
      };
    } else if (tracker) {
      const create = message.createReadStream.bind(message);
      message.createReadStream = (...args: unknown[]) => (tracker.stream = create(...args));
    }
    done();
  });
  const pool = (transporter as unknown as { transporter?: PoolLike }).transporter;
  const canDirect = pool?.name === 'SMTP (pool)' && typeof pool.send === 'function';
  return {
    async sendMail(message) {
      const tracker: Tracker = {};
      try {
        const direct = canDirect ? directMail(message, tracker, signer) : undefined;
        const info = direct
          ? await new Promise<{ messageId: string; response: string }>((resolve, reject) =>
              pool!.send(direct, (error, sent) => (error ? reject(error) : resolve(sent!))),
            )
          : ((await transporter.sendMail({ ...message, [TRACK]: tracker } as unknown as SendMailOptions)) as { messageId: string; response: string });
        return { messageId: info.messageId, response: info.response } satisfies SentInfo;
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

interface PoolLike {
  name: string;
  send(mail: DirectMail, callback: (error: Error | null, info?: { messageId: string; response: string }) => void): void;
}

interface DirectMail {
  data: { envelope: { from: string; to: string[] }; messageId: string };
  message: {
    getEnvelope(): { from: string; to: string[] };
    messageId(): string;
    getHeader(name: string): string | undefined;
    createReadStream(): Readable;
  };
}

// eslint-disable-next-line no-control-regex
const PLAIN_ADDRESS = /^[\x21-\x7e]+@[\x21-\x7e]+$/;

/**
 * The campaign's messages are finished bytes with a plain envelope and their own
 * Message-ID. For those, building nodemailer's MIME tree (which for a raw message only
 * parses the envelope again, makes a boundary and wraps the buffer in three streams)
 * was about a tenth of a worker's CPU. They go to the pool itself instead: the same
 * connections, the same SMTP code, `maxRequeues: 0`, only without the composer. Anything
 * else (more options, a non-ASCII address nodemailer would have to encode, no trailing
 * CRLF) takes nodemailer's full path.
 */
function directMail(message: OutgoingMessage, tracker: Tracker, signer: DkimSigner | undefined): DirectMail | undefined {
  const { envelope, raw: unsigned, messageId, ...rest } = message as SendMailOptions;
  if (Object.keys(rest).length > 0 || !Buffer.isBuffer(unsigned) || !endsInCrlf(unsigned) || typeof messageId !== 'string') return undefined;
  const from = envelope?.from;
  const to = envelope?.to;
  if (typeof from !== 'string' || typeof to !== 'string' || !PLAIN_ADDRESS.test(from) || !PLAIN_ADDRESS.test(to)) return undefined;
  const raw = signer ? signer.sign(unsigned) : unsigned;
  return {
    data: { envelope: { from, to: [to] }, messageId },
    message: {
      getEnvelope: () => ({ from, to: [to] }),
      messageId: () => messageId,
      getHeader: (name) => (name.toLowerCase() === 'message-id' ? messageId : undefined),
      createReadStream: () => (tracker.stream = oneChunk(raw)),
    },
  };
}

interface RawNode {
  createReadStream(...args: unknown[]): Readable;
  _transforms?: unknown[];
  _processFuncs?: unknown[];
  newline?: unknown;
}

function endsInCrlf(buffer: Buffer): boolean {
  return buffer.length >= 2 && buffer[buffer.length - 2] === 0x0d && buffer[buffer.length - 1] === 0x0a;
}

/** The buffer itself as the only chunk, so the SMTP data stream sees (and may trust) it whole. */
function oneChunk(buffer: Buffer): Readable {
  let done = false;
  return new Readable({
    read() {
      if (!done) {
        done = true;
        this.push(buffer);
      }
      this.push(null);
    },
  });
}

const TRACK = '_depescheTracker';
interface Tracker {
  stream?: Readable;
}
