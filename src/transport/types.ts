import type { SendMailOptions } from 'nodemailer';

/** The server's answer to one accepted message. */
export interface SentInfo {
  messageId: string;
  response: string;
}

/**
 * What the campaign code and system mails need from a mail transport. SMTP and the dev
 * inbox implement it, and tests can swap it. A refusal rejects with an error whose
 * `responseCode` holds the SMTP reply code (4xx transient, 5xx permanent); a connection
 * fault rejects without one.
 */
export interface Transport {
  sendMail(message: SendMailOptions): Promise<SentInfo>;
  close(): Promise<void>;
}
