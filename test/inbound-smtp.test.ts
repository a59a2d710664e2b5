import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MemoryReturnSink } from '../src/inbound/memory-sink.ts';
import { DirectoryQuarantine } from '../src/inbound/quarantine.ts';
import { startInboundSmtp, type InboundSmtp } from '../src/inbound/smtp-listener.ts';
import type { ReturnSink } from '../src/inbound/types.ts';
import { freePort } from './support/ports.ts';
import { CAMPAIGN, captureLogger, DOWN_SINK, fixture, READER, switchableSink, testAddresses } from './support/returns.ts';

const addresses = testAddresses();
const OTHER = { campaignId: CAMPAIGN, subscriberId: 'second-reader-01' };

let dir: string;
let listener: InboundSmtp;
let sink: MemoryReturnSink;
// The listener's sink; a test swaps in a failing one to play storage that is down.
let current: ReturnSink;
const log = captureLogger();

function freshSink(): MemoryReturnSink {
  return new MemoryReturnSink({
    readers: [
      { id: READER.subscriberId, email: 'jan.weber@example.net', lists: ['newsletter', 'partners'] },
      { id: OTHER.subscriberId, email: 'ole.hansen@example.no', lists: ['newsletter'] },
    ],
    campaigns: { [CAMPAIGN]: { list: 'newsletter' } },
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'depesche-inbound-'));
  const port = await freePort();
  listener = await startInboundSmtp({
    host: '127.0.0.1',
    port,
    addresses,
    sink: switchableSink(() => current),
    quarantine: new DirectoryQuarantine(join(dir, 'quarantine')),
    logger: log.logger,
    maxBytes: 200_000,
  });
});

afterAll(async () => {
  await listener.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  sink = freshSink();
  current = sink;
});

function client() {
  return nodemailer.createTransport({ host: '127.0.0.1', port: listener.port, secure: false, ignoreTLS: true, pool: false });
}

async function send(to: string | string[], raw: Buffer, from = '') {
  const transport = client();
  try {
    return await transport.sendMail({ envelope: { from, to }, raw });
  } finally {
    transport.close();
  }
}

async function refusal(to: string | string[], raw: Buffer): Promise<{ responseCode?: number; response?: string }> {
  try {
    await send(to, raw);
  } catch (error) {
    return error as { responseCode?: number; response?: string };
  }
  throw new Error('expected a refusal');
}

describe('depesche inbound over SMTP', () => {
  it('a DSN to a genuine return path bounces that reader, and the log names the campaign', async () => {
    const info = await send(addresses.bounceAddress(READER)!, fixture('postfix-dsn-user-unknown.eml'));
    expect(info.response).toMatch(/^250/);
    expect(sink.readers.get(READER.subscriberId)!.status).toBe('bounced');
    expect(sink.ledger.get(`${CAMPAIGN}:${READER.subscriberId}`)).toMatchObject({ state: 'bounced' });
    expect(sink.readers.get(OTHER.subscriberId)!.status).toBe('active');
    const line = log.lines().find((l) => l.kind === 'bounce' && l.outcome === 'applied');
    expect(line).toMatchObject({ campaignId: CAMPAIGN, subscriberId: READER.subscriberId, severity: 'hard' });
  });

  it('refuses strangers, unknown mailboxes and forged tokens at RCPT, before the message', async () => {
    const forged = addresses.bounceAddress(READER)!.replace(/^b-(.)(.)/, (_m, a: string, b: string) => `b-${b}${a}`);
    expect(await refusal(forged, fixture('postfix-dsn-user-unknown.eml'))).toMatchObject({ responseCode: 550, response: expect.stringMatching(/token not valid/) });
    expect(await refusal('nobody@bounces.example.org', fixture('postfix-dsn-user-unknown.eml'))).toMatchObject({ responseCode: 550 });
    expect(await refusal('victim@elsewhere.example', fixture('postfix-dsn-user-unknown.eml'))).toMatchObject({ responseCode: 550, response: expect.stringMatching(/Relaying denied/) });
    expect(sink.applied).toEqual([]);
    expect(sink.readers.get(READER.subscriberId)!.status).toBe('active');
  });

  it('takes one recipient per transaction and says 452 to the rest', async () => {
    const info = await send([addresses.bounceAddress(READER)!, addresses.bounceAddress(OTHER)!], fixture('postfix-dsn-user-unknown.eml'));
    expect(info.accepted).toEqual([addresses.bounceAddress(READER)]);
    expect(info.rejected).toEqual([addresses.bounceAddress(OTHER)]);
    expect(sink.readers.get(OTHER.subscriberId)!.status).toBe('active');
  });

  it('a mailto unsubscribe sent over SMTP takes the reader off that list only', async () => {
    await send(addresses.unsubscribeAddress(READER), fixture('unsubscribe-token.eml'), 'jan.weber@example.net');
    const reader = sink.readers.get(READER.subscriberId)!;
    expect([...reader.lists]).toEqual(['partners']);
    expect(reader.status).toBe('active');
    expect(sink.log.at(-1)).toMatchObject({ action: 'unsubscribed', via: 'mail', campaignId: CAMPAIGN });
  });

  it('a mail to the token-less mailto unsubscribes the sender from every list, logged as legacy', async () => {
    await send('unsubscribe@example.org', fixture('unsubscribe-legacy.eml'), 'ole.hansen@example.no');
    expect(sink.readers.get(OTHER.subscriberId)!).toMatchObject({ status: 'unsubscribed', lists: new Set() });
    expect(sink.log.at(-1)!.detail).toMatch(/token-less/);
  });

  it('keeps a message it cannot read, answers 250 and logs where it went', async () => {
    const raw = fixture('human-reply.eml');
    await send(addresses.bounceAddress(READER)!, raw);
    const files = await readdir(join(dir, 'quarantine'));
    const eml = files.find((f) => f.endsWith('.eml'))!;
    expect(await readFile(join(dir, 'quarantine', eml))).toEqual(raw);
    const note = JSON.parse(await readFile(join(dir, 'quarantine', eml.replace(/\.eml$/, '.json')), 'utf8')) as { reason: string; envelope: { to: string[] } };
    expect(note.envelope.to).toEqual([addresses.bounceAddress(READER)]);
    expect(log.lines().some((l) => l.msg === 'inbound SMTP: kept a message it could not read' && l.kept === join(dir, 'quarantine', eml))).toBe(true);
  });

  it('answers 451 while the sink is down, and the retry is applied once', async () => {
    current = DOWN_SINK;
    expect(await refusal(addresses.bounceAddress(READER)!, fixture('postfix-dsn-user-unknown.eml'))).toMatchObject({ responseCode: 451 });
    expect(sink.readers.get(READER.subscriberId)!.status).toBe('active');
    current = sink;
    await send(addresses.bounceAddress(READER)!, fixture('postfix-dsn-user-unknown.eml'));
    await send(addresses.bounceAddress(READER)!, fixture('postfix-dsn-user-unknown.eml'));
    expect(sink.applied).toHaveLength(1);
    expect(sink.readers.get(READER.subscriberId)!.status).toBe('bounced');
  });

  it('the same soft bounce delivered twice at once counts once', async () => {
    await Promise.all([
      send(addresses.bounceAddress(READER)!, fixture('exim-mailbox-full.eml')),
      send(addresses.bounceAddress(READER)!, fixture('exim-mailbox-full.eml')),
    ]);
    expect(sink.readers.get(READER.subscriberId)!.softBounces).toHaveLength(1);
    expect(sink.readers.get(READER.subscriberId)!.status).toBe('active');
  });

  it('refuses a message over the size limit with 552', async () => {
    const big = Buffer.concat([fixture('human-reply.eml'), Buffer.from(`${'x'.repeat(998)}\r\n`.repeat(250))]);
    expect(await refusal(addresses.bounceAddress(READER)!, big)).toMatchObject({ responseCode: 552 });
  });

  it('sends a client away after ten refused recipients', async () => {
    // A plain socket, to see each reply and the closing connection as a forger would.
    const socket = connect(listener.port, '127.0.0.1');
    const replies: string[] = [];
    let buffer = '';
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    const next = () =>
      new Promise<string>((resolve) => {
        const check = () => {
          const match = /^(\d{3}) .*\r\n/m.exec(buffer);
          if (!match) return void socket.once('data', (d: Buffer) => ((buffer += d.toString()), check()));
          const line = buffer.slice(0, match.index + match[0].length);
          buffer = buffer.slice(line.length);
          resolve(line.trim());
        };
        check();
      });
    await next();
    socket.write('EHLO forger.example\r\n');
    await next();
    socket.write('MAIL FROM:<>\r\n');
    await next();
    for (let i = 0; i < 10; i++) {
      socket.write(`RCPT TO:<b-${'a'.repeat(30)}${'abcdefghij'[i]}@bounces.example.org>\r\n`);
      replies.push(await next());
    }
    await closed;
    expect(replies.slice(0, 9).every((r) => r.startsWith('550 5.7.1'))).toBe(true);
    expect(replies[9]).toMatch(/^421 /);
  });
});
