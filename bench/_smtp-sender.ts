// One sender of the smtp and send benchmarks, in a process of its own so that one way's
// patches and caches cannot help or hurt another's: `node bench/_smtp-sender.ts <way>
// <smtp-url> <editions.json> <count> <pool>`. Sends `count` mails (readers alternate
// between the editions' languages) 2×pool at a time and prints one JSON line: its own CPU
// µs per message after a warm-up, msgs/s and its peak RSS.
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import nodemailer, { type Transporter } from 'nodemailer';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { FrozenEdition } from '../src/campaign/campaigns.ts';
import { prepareEdition } from '../src/campaign/mime.ts';
import { publicUrls } from '../src/core/public-urls.ts';
import { compileMerge, fillMerge, greetingFor } from '../src/render/merge.ts';
import { signToken } from '../src/subscribers/tokens.ts';
import { createDkimSigner, DKIM_HEADERS } from '../src/transport/dkim.ts';
import { createSmtpClient } from '../src/transport/smtp-client.ts';

const [way, url, editionFile, countText, poolText] = process.argv.slice(2) as [string, string, string, string, string];
const count = Number(countText);
const pool = Number(poolText);
const editions = JSON.parse(readFileSync(editionFile, 'utf8')) as FrozenEdition[];
const MAIL_FROM = 'China AI2X Briefing <briefing@example.org>';
const PUBLIC_URL = 'https://news.example.org';
const SECRET = 'b'.repeat(40);
const prepared = editions.map((edition) => prepareEdition(edition, { mailFrom: MAIL_FROM, publicUrl: PUBLIC_URL, secret: SECRET, campaignId: 'cbench', list: 'bench' }));
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
const nodemailerDkim = { domainName: 'example.org', keySelector: 'r', privateKey: rsa.export({ type: 'pkcs8', format: 'pem' }) as string, headerFieldNames: DKIM_HEADERS };

interface Outgoing {
  envelope: { from: string; to: string };
  messageId: string;
  readonly raw: Buffer;
  readonly parts: Buffer[];
}
type Send = (i: number) => Promise<unknown>;

// The builder's message as it is: `raw` (one joined buffer) and `parts` are made when asked
// for, so each way pays only for the form it sends.
const build = (i: number): Outgoing => prepared[i % prepared.length]!.build({ id: `s${i}`, email: `reader${i}@example.net`, name: `Reader ${i}`, lang: editions[i % editions.length]!.lang }, 'run');

/**
 * What most people write: one pooled transporter, each reader's HTML and text filled from
 * the template, nodemailer's composer building the MIME per message.
 */
function perMessageMime(transporter: Transporter): Send {
  const templates = editions.map((e) => ({ e, html: compileMerge(e.html), text: compileMerge(e.text) }));
  const urls = publicUrls(PUBLIC_URL);
  return (i) => {
    const { e, html, text } = templates[i % templates.length]!;
    const name = `Reader ${i}`;
    const claims = { sub: `s${i}`, cmp: 'cbench' };
    const unsubscribeUrl = urls.unsubscribe(signToken({ act: 'unsubscribe', ...claims }, SECRET));
    const values = {
      name,
      greeting: greetingFor(e.greeting, name),
      unsubscribeUrl,
      preferencesUrl: urls.preferences(signToken({ act: 'preferences', ...claims }, SECRET)),
      viewOnlineUrl: urls.edition(e.slug, e.lang),
      subscribeUrl: urls.subscribe(e.lang),
      archiveUrl: urls.archive(),
    };
    return transporter.sendMail({
      from: MAIL_FROM,
      to: { name, address: `reader${i}@example.net` },
      subject: e.subject,
      html: fillMerge(html, values, 'html'),
      text: fillMerge(text, values, 'text'),
      headers: { 'Content-Language': e.lang, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
      list: { unsubscribe: [unsubscribeUrl, 'mailto:unsubscribe@example.org?subject=unsubscribe'], id: 'bench.news.example.org' },
    });
  };
}

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
    async send(i) {
      const message = build(i);
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
  const pooled = (dkim: boolean) => nodemailer.createTransport({ url, pool: true, maxConnections: pool, maxMessages: Infinity, ...(dkim ? { dkim: nodemailerDkim } : {}) } as never);
  switch (way) {
    case 'nodemailer-mime':
    case 'nodemailer-mime-dkim': {
      const transporter = pooled(way.endsWith('dkim'));
      return { send: perMessageMime(transporter), close: () => transporter.close() };
    }
    case 'nodemailer-raw':
    case 'nodemailer-raw-dkim': {
      // The MIME built once per edition (Depesche's builder) and sent with nodemailer as
      // documented: a pooled transporter, `raw` messages.
      const transporter = pooled(way.endsWith('dkim'));
      return { send: (i) => { const m = build(i); return transporter.sendMail({ envelope: m.envelope, messageId: m.messageId, raw: m.raw }); }, close: () => transporter.close() };
    }
    case 'smtp-connection': {
      return smtpConnectionPool(pool);
    }
    case 'own-client':
    case 'own-client-dkim': {
      const dkim = way.endsWith('dkim') ? createDkimSigner({ domain: 'example.org', keys: [{ selector: 'r', privateKey: rsa }] }) : undefined;
      const client = createSmtpClient({ url, poolSize: pool, ...(dkim ? { dkim } : {}) });
      return { send: (i) => { const m = build(i); return client.send({ envelope: m.envelope, messageId: m.messageId, raw: m.parts }); }, close: () => client.close() };
    }
    default:
      throw new Error(`unknown way ${way}`);
  }
}

const { send, close } = await sender();
const run = async (n: number) => {
  let next = 0;
  await Promise.all(
    Array.from({ length: pool * 2 }, async () => {
      while (next < n) await send(next++);
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
console.log(JSON.stringify({ way, cpuUs: (used.user + used.system) / count, msgsPerSecond: count / seconds, peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024) }));
process.exit(0);
