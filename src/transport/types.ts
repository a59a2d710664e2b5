import type { Readable } from 'node:stream';
import type { SendMailOptions } from 'nodemailer';

/** The server's answer to one accepted message. */
export interface SentInfo {
  messageId: string;
  response: string;
}

/**
 * A finished RFC 5322 message and its SMTP envelope: what campaigns and proofs hand over.
 * `messageId` is the Message-ID the raw message carries, so the transport reports it
 * instead of making one up.
 */
export interface RawOutgoingMessage {
  envelope: { from: string; to: string };
  /** The whole message, or the parts to write in order (the campaign builder's shared buffers). */
  raw: Buffer | readonly Buffer[] | Readable;
  messageId?: string;
}

/** A raw message, or a mail for nodemailer to compose (system mails such as the confirmation). */
export type OutgoingMessage = RawOutgoingMessage | SendMailOptions;

/**
 * The one mail transport contract: campaigns, proofs and system mails all send through
 * it. SMTP and the dev inbox implement it, and tests can swap it.
 *
 * A refusal rejects with an error whose `responseCode` holds the SMTP reply code (4xx
 * transient, 5xx permanent) and `command` the SMTP command it answered. A fault without
 * an answer says whether the whole message had left for the server (`dataSent`): before
 * that, nothing can have arrived and a retry is safe; after it, only the server knows.
 */
export interface Transport {
  sendMail(message: OutgoingMessage): Promise<SentInfo>;
  close(): Promise<void>;
}
