import { SMTPServer } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';
import { freePort } from './ports.ts';

/** One mail as the server accepted it: envelope, raw source and, when parsing is on, the parsed form. */
export interface CapturedMail<Parsed = ParsedMail> {
  from: string;
  to: string[];
  raw: string;
  /** When the server accepted it (ms since the epoch). */
  at: number;
  parsed: Parsed;
}

/**
 * Decides the server's answer to one recipient. Return undefined to accept, or an SMTP
 * code and text to refuse, e.g. `{ code: 451, message: 'try later' }`.
 */
export type FaultRule = (ctx: { rcpt: string; attempt: number }) => { code: number; message: string; delayMs?: number } | undefined;

export interface TestSmtp<Parsed = ParsedMail> {
  port: number;
  url: string;
  mails: CapturedMail<Parsed>[];
  /** How many times each recipient was offered, accepted or not. */
  attempts: Map<string, number>;
  /** Mails accepted for one recipient. */
  received(rcpt: string): number;
  setFault(rule: FaultRule | undefined): void;
  /**
   * Milliseconds to wait before answering the end of DATA. The mail counts as received
   * before the wait, so a client killed meanwhile leaves a mail that arrived without the
   * sender hearing so: the case the delivery ledger calls unclear.
   */
  setDelay(ms: number): void;
  /**
   * Recipients whose connection is cut once their message is in, before the answer: the
   * mail arrived, and the sender cannot know (a dropped connection after DATA).
   */
  setDrop(rule: ((rcpt: string) => boolean) | undefined): void;
  /** Resolves once `count` mails have arrived. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface SmtpOptions<Parse extends boolean> {
  /**
   * Parse every mail with mailparser (default). Suites that send thousands of mails turn it
   * off: parsing would cost more CPU than the send under test, and they parse samples.
   */
  parse?: Parse;
}

function smtpError(code: number, message: string): Error & { responseCode: number } {
  return Object.assign(new Error(message), { responseCode: code });
}

/** A real SMTP server (smtp-server) on a free loopback port that keeps every mail it accepts. */
export async function startSmtp<Parse extends boolean = true>(
  options: SmtpOptions<Parse> = {},
): Promise<TestSmtp<Parse extends false ? undefined : ParsedMail>> {
  type Parsed = Parse extends false ? undefined : ParsedMail;
  const parse = options.parse ?? true;
  const port = await freePort();
  const mails: CapturedMail<Parsed>[] = [];
  const attempts = new Map<string, number>();
  const counts = new Map<string, number>();
  let fault: FaultRule | undefined;
  let delay = 0;
  let drop: ((rcpt: string) => boolean) | undefined;
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
      const answer = () => callback(refusal ? smtpError(refusal.code, refusal.message) : undefined);
      if (refusal?.delayMs) setTimeout(answer, refusal.delayMs);
      else answer();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const to = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
        const parsed = (parse ? await simpleParser(raw) : undefined) as Parsed;
        mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to, raw, at: Date.now(), parsed });
        for (const rcpt of to) counts.set(rcpt, (counts.get(rcpt) ?? 0) + 1);
        for (const waiter of [...waiters]) {
          if (mails.length >= waiter.count) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        }
        if (drop && to.some(drop)) {
          const connections = (server as unknown as { connections: Set<{ id: string; _socket: { destroy(): void } }> }).connections;
          for (const connection of connections) if (connection.id === session.id) connection._socket.destroy();
          return;
        }
        if (delay > 0) setTimeout(() => callback(), delay);
        else callback();
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
    setDrop(rule) {
      drop = rule;
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

/** One header of a raw message, unfolded, or undefined. */
export function header(raw: string, name: string): string | undefined {
  const head = raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
  const line = head.split('\r\n').find((l) => l.toLowerCase().startsWith(`${name.toLowerCase()}:`));
  return line?.slice(name.length + 1).trim();
}
