import { SMTPServer } from 'smtp-server';
import { freePort } from './support/ports.ts';

/**
 * A lean SMTP sink for send tests with thousands of mails: it keeps the raw source and
 * the envelope, and leaves parsing to the test (mailparser on every mail would cost more
 * CPU than the send under test). Faults per recipient and a delay before the final
 * answer (so a SIGKILL lands mid-transaction) are injectable.
 */
export interface SinkMail {
  to: string;
  raw: string;
  at: number;
}

export type SinkFault = (ctx: { rcpt: string; attempt: number }) => { code: number; message: string } | undefined;

export interface Sink {
  port: number;
  url: string;
  mails: SinkMail[];
  attempts: Map<string, number>;
  /** Mails received per recipient. */
  received(rcpt: string): number;
  setFault(rule: SinkFault | undefined): void;
  /** Milliseconds to wait before answering the end of DATA. */
  setDelay(ms: number): void;
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startSink(options: { keepRaw?: boolean } = {}): Promise<Sink> {
  const keepRaw = options.keepRaw ?? true;
  const port = await freePort();
  const mails: SinkMail[] = [];
  const attempts = new Map<string, number>();
  const counts = new Map<string, number>();
  let fault: SinkFault | undefined;
  let delay = 0;
  const waiters: { count: number; resolve: () => void }[] = [];

  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    size: 10 * 1024 * 1024,
    maxClients: 1000,
    onRcptTo(address, _session, callback) {
      const rcpt = address.address.toLowerCase();
      const attempt = (attempts.get(rcpt) ?? 0) + 1;
      attempts.set(rcpt, attempt);
      const refusal = fault?.({ rcpt, attempt });
      callback(refusal ? Object.assign(new Error(refusal.message), { responseCode: refusal.code }) : undefined);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const finish = () => {
          for (const r of session.envelope.rcptTo) {
            const to = r.address.toLowerCase();
            counts.set(to, (counts.get(to) ?? 0) + 1);
            mails.push({ to, raw: keepRaw ? Buffer.concat(chunks).toString('utf8') : '', at: Date.now() });
          }
          for (const waiter of [...waiters]) {
            if (mails.length >= waiter.count) {
              waiters.splice(waiters.indexOf(waiter), 1);
              waiter.resolve();
            }
          }
          callback();
        };
        // Accepted before the delay: a client killed meanwhile leaves a mail that arrived
        // without the sender hearing so — exactly the case the ledger calls unclear.
        if (delay > 0) setTimeout(finish, delay);
        else finish();
      });
    },
  });
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

  return {
    port,
    url: `smtp://127.0.0.1:${port}`,
    mails,
    attempts,
    received: (rcpt) => counts.get(rcpt.toLowerCase()) ?? 0,
    setFault(rule) {
      fault = rule;
    },
    setDelay(ms) {
      delay = ms;
    },
    waitFor(count, timeoutMs = 60_000) {
      if (mails.length >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${mails.length} of ${count} mails arrived`)), timeoutMs);
        waiters.push({ count, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
