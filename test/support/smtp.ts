import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { freePort } from './ports.ts';

/** One mail as the server accepted it: envelope, raw source and the parsed form. */
export interface CapturedMail {
  from: string;
  to: string[];
  raw: string;
  parsed: ParsedMail;
}

/**
 * Decides the server's answer to one recipient or one message. Return undefined to accept,
 * or an SMTP code and text to refuse, e.g. `{ code: 451, message: 'try later' }`.
 */
export type FaultRule = (ctx: { rcpt: string; attempt: number }) => { code: number; message: string } | undefined;

export interface TestSmtp {
  port: number;
  url: string;
  mails: CapturedMail[];
  /** How many times each recipient was offered, accepted or not. */
  attempts: Map<string, number>;
  setFault(rule: FaultRule | undefined): void;
  /** Resolves once `count` mails have arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

/** A real SMTP server (smtp-server) on a free loopback port that keeps every mail it accepts. */
export async function startSmtp(): Promise<TestSmtp> {
  const port = await freePort();
  const mails: CapturedMail[] = [];
  const attempts = new Map<string, number>();
  let fault: FaultRule | undefined;
  const waiters: { count: number; resolve: () => void }[] = [];

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 10 * 1024 * 1024,
    onRcptTo(address, _session, callback) {
      const rcpt = address.address.toLowerCase();
      const attempt = (attempts.get(rcpt) ?? 0) + 1;
      attempts.set(rcpt, attempt);
      const refusal = fault?.({ rcpt, attempt });
      callback(refusal ? smtpError(refusal.code, refusal.message) : undefined);
    },
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const parsed = await simpleParser(raw);
        mails.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          raw,
          parsed,
        });
        for (const waiter of [...waiters]) {
          if (mails.length >= waiter.count) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    mails,
    attempts,
    setFault(rule) {
      fault = rule;
    },
    waitFor(count, timeoutMs = 30_000) {
      if (mails.length >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${mails.length} of ${count} mails arrived`)), timeoutMs);
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
