// One sender of the smtp benchmark, in a process of its own so that one way's patches and
// caches cannot help or hurt another's: `node bench/_smtp-sender.ts <way> <smtp-url>
// <edition.json> <count> <pool>`. Builds the campaign's messages from the edition, sends
// them 2×pool at a time, and prints one JSON line: its own CPU µs and wall time per message.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import nodemailer from 'nodemailer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { FrozenEdition } from '../src/campaign/campaigns.ts';
import { prepareEdition } from '../src/campaign/mime.ts';
import { createDkimSigner, DKIM_HEADERS } from '../src/transport/dkim.ts';
import { createSmtpClient } from '../src/transport/smtp-client.ts';

const [way, url, editionFile, countText, poolText] = process.argv.slice(2) as [string, string, string, string, string];
const count = Number(countText);
const pool = Number(poolText);
const edition = JSON.parse(readFileSync(editionFile, 'utf8')) as FrozenEdition;
const prepared = prepareEdition(edition, { mailFrom: 'Briefing <briefing@example.org>', publicUrl: 'https://news.example.org', secret: 'b'.repeat(40), campaignId: 'cbench', list: 'bench' });
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;

interface Outgoing {
  envelope: { from: string; to: string };
  messageId: string;
  readonly raw: Buffer;
  readonly parts: Buffer[];
}
type Send = (message: Outgoing) => Promise<unknown>;

/** nodemailer's exported SMTPConnection with the smallest pool around it: no private API, no patch. */
function smtpConnectionPool(size: number): { send: Send; close(): void } {
  const target = new URL(url);
  const idle: SMTPConnection[] = [];
  const waiters: ((c: SMTPConnection) => void)[] = [];
  let open = 0;
  const acquire = async (): Promise<SMTPConnection> => {
    const ready = idle.pop();
    if (ready) return ready;
    if (open < size) {
      open++;
      const connection = new SMTPConnection({ host: target.hostname, port: Number(target.port) });
      await new Promise<void>((resolve, reject) => {
        connection.once('error', reject);
        connection.connect(() => resolve());
      });
      return connection;
    }
    return new Promise((resolve) => waiters.push(resolve));
  };
  const release = (connection: SMTPConnection) => {
    const next = waiters.shift();
    if (next) next(connection);
    else idle.push(connection);
  };
  return {
    async send(message) {
      const connection = await acquire();
      try {
        await new Promise((resolve, reject) => connection.send({ from: message.envelope.from, to: [message.envelope.to] }, message.raw, (error, info) => (error ? reject(error) : resolve(info))));
      } finally {
        release(connection);
      }
    },
    close: () => idle.forEach((c) => c.quit()),
  };
}

async function sender(): Promise<{ send: Send; close(): Promise<void> | void }> {
  switch (way) {
    case 'fast-path': {
      // Today's transport: DataStream patched process-wide, the Mailer's private pool, a fake MailMessage.
      const { createSmtpTransport } = await import('../src/transport/smtp.ts');
      const transport = createSmtpTransport({ SMTP_URL: url, SMTP_POOL_SIZE: pool });
      return { send: (m) => transport.sendMail({ envelope: m.envelope, messageId: m.messageId, raw: m.raw }), close: () => transport.close() };
    }
    case 'nodemailer-raw':
    case 'nodemailer-raw-dkim': {
      // What nodemailer exports, used as documented: a pooled transporter, `raw` messages.
      const dkim = way.endsWith('dkim') ? { domainName: 'example.org', keySelector: 'r', privateKey: rsa.export({ type: 'pkcs8', format: 'pem' }) as string, headerFieldNames: DKIM_HEADERS } : undefined;
      const transporter = nodemailer.createTransport({ url, pool: true, maxConnections: pool, maxMessages: Infinity, ...(dkim ? { dkim } : {}) } as never);
      return { send: (m) => transporter.sendMail({ envelope: m.envelope, messageId: m.messageId, raw: m.raw }), close: () => transporter.close() };
    }
    case 'smtp-connection': {
      return smtpConnectionPool(pool);
    }
    case 'own-client':
    case 'own-client-dkim': {
      const dkim = way.endsWith('dkim') ? createDkimSigner({ domain: 'example.org', keys: [{ selector: 'r', privateKey: rsa }] }) : undefined;
      const client = createSmtpClient({ url, poolSize: pool, ...(dkim ? { dkim } : {}) });
      return { send: (m) => client.send({ envelope: m.envelope, messageId: m.messageId, raw: m.parts }), close: () => client.close() };
    }
    default:
      throw new Error(`unknown way ${way}`);
  }
}

const { send, close } = await sender();
// The builder's message as it is: `raw` (one joined buffer) and `parts` are made when asked
// for, so each way pays only for the form it sends.
const build = (i: number): Outgoing => prepared.build({ id: `s${i}`, email: `reader${i}@example.net`, name: `Reader ${i}`, lang: edition.lang }, 'run');
const run = async (n: number) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: pool * 2 }, async () => {
      while (next < n) await send(build(next++));
    }),
  );
};
await run(Math.min(200, count)); // warm-up: connections open, code optimised
const cpu = process.cpuUsage();
const started = performance.now();
await run(count);
const used = process.cpuUsage(cpu);
const seconds = (performance.now() - started) / 1000;
await close();
console.log(JSON.stringify({ way, cpuUs: (used.user + used.system) / count, msgsPerSecond: count / seconds }));
process.exit(0);
