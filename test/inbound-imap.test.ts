import { ImapFlow } from 'imapflow';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ImapPoller } from '../src/inbound/imap-poller.ts';
import { MemoryReturnSink } from '../src/inbound/memory-sink.ts';
import type { ReturnSink } from '../src/inbound/types.ts';
import { startDovecot, type TestDovecot } from './support/dovecot.ts';
import { CAMPAIGN, captureLogger, DOWN_SINK, fixture, READER, switchableSink, testAddresses } from './support/returns.ts';

const addresses = testAddresses();
let dovecot: TestDovecot;
let sink: MemoryReturnSink;
let current: ReturnSink;
const log = captureLogger();

beforeAll(async () => {
  dovecot = await startDovecot();
});

afterAll(async () => {
  await dovecot?.stop();
});

beforeEach(async () => {
  sink = new MemoryReturnSink({
    readers: [
      { id: READER.subscriberId, email: 'jan.weber@example.net', lists: ['newsletter'] },
      { id: 'legacy-reader-1', email: 'ole.hansen@example.no', lists: ['newsletter', 'partners'] },
    ],
    campaigns: { [CAMPAIGN]: { list: 'newsletter' } },
  });
  current = sink;
  // Every test starts from empty folders.
  await withClient(async (client) => {
    // Parents that only exist as a level of the hierarchy (\\Noselect) cannot be deleted and need not be.
    const boxes = (await client.list()).filter((b) => b.path !== 'INBOX' && !b.flags.has('\\Noselect') && !b.flags.has('\\NonExistent')).map((b) => b.path);
    // Children before their parents.
    for (const path of boxes.sort((a, b) => b.length - a.length)) await client.mailboxDelete(path);
    const lock = await client.getMailboxLock('INBOX');
    try {
      if (client.mailbox && client.mailbox.exists > 0) await client.messageDelete('1:*');
    } finally {
      lock.release();
    }
  });
});

async function withClient<T>(fn: (client: ImapFlow) => Promise<T>): Promise<T> {
  const client = new ImapFlow({ host: '127.0.0.1', port: dovecot.port, secure: false, auth: { user: dovecot.user, pass: dovecot.password }, logger: false });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.logout();
  }
}

async function deliver(raw: Buffer, flags: string[] = []): Promise<void> {
  await withClient((client) => client.append('INBOX', raw, flags));
}

async function subjects(path: string | string[]): Promise<string[]> {
  return withClient(async (client) => {
    const lock = await client.getMailboxLock(path);
    try {
      const out: string[] = [];
      for await (const message of client.fetch('1:*', { envelope: true })) out.push(message.envelope?.subject ?? '');
      return out.sort();
    } finally {
      lock.release();
    }
  }).catch(() => []);
}

function poller(overrides: Partial<ConstructorParameters<typeof ImapPoller>[0]> = {}) {
  return new ImapPoller({
    url: dovecot.url,
    processedMailbox: 'Depesche/Processed',
    quarantineMailbox: 'Depesche/Unreadable',
    pollSeconds: 60,
    addresses,
    sink: switchableSink(() => current),
    logger: log.logger,
    ...overrides,
  });
}

describe('the IMAP poller against Dovecot', () => {
  it('reads unseen mail, applies it, moves it to Processed and keeps what it cannot read', async () => {
    await deliver(fixture('postfix-dsn-user-unknown.eml'));
    await deliver(fixture('unsubscribe-legacy.eml'));
    await deliver(fixture('autoreply-abwesenheit.eml'));
    await deliver(fixture('human-reply.eml'));
    // Read by a person already: left alone.
    await deliver(fixture('exim-mailbox-full.eml'), ['\\Seen']);

    expect(await poller().pollOnce()).toEqual({ processed: 3, kept: 1, deferred: 0 });
    expect(sink.readers.get(READER.subscriberId)!.status).toBe('bounced');
    expect(sink.ledger.get(`${CAMPAIGN}:${READER.subscriberId}`)?.state).toBe('bounced');
    expect(sink.readers.get('legacy-reader-1')!.status).toBe('unsubscribed');
    expect(sink.readers.get(READER.subscriberId)!.softBounces).toEqual([]);

    expect(await subjects('INBOX')).toEqual(['Mail delivery failed: returning message to sender']);
    expect(await subjects(['Depesche', 'Processed'])).toEqual([
      'Abwesenheitsnotiz: Die Woche in Chinas KI-Industrie',
      'Undelivered Mail Returned to Sender',
      'unsubscribe',
    ]);
    expect(await subjects(['Depesche', 'Unreadable'])).toEqual(['Re: Die Woche in Chinas KI-Industrie']);

    // Nothing new: the second poll does nothing.
    expect(await poller().pollOnce()).toEqual({ processed: 0, kept: 0, deferred: 0 });
  });

  it('keeps reports that name a subscriber only by address, and mailto requests from another envelope sender, changing nobody', async () => {
    current = sink = new MemoryReturnSink({
      readers: [
        { id: 'anna', email: 'a.novak@example.net', lists: ['newsletter'] },
        { id: 'legacy-reader-1', email: 'ole.hansen@example.no', lists: ['newsletter', 'partners'] },
      ],
      campaigns: { [CAMPAIGN]: { list: 'newsletter' } },
    });
    // No token and no Message-ID lookup: the DSN names Anna by address only, as any stranger could.
    await deliver(fixture('gmail-dsn-no-verp.eml'));
    await deliver(Buffer.from(fixture('unsubscribe-legacy.eml').toString().replace('Return-Path: <ole.hansen@example.no>', 'Return-Path: <prank@example.com>')));
    expect(await poller().pollOnce()).toEqual({ processed: 0, kept: 2, deferred: 0 });
    expect(sink.readers.get('anna')!.status).toBe('active');
    expect(sink.readers.get('legacy-reader-1')!.lists.size).toBe(2);
    expect(sink.unmatched).toHaveLength(2);
    expect((await subjects(['Depesche', 'Unreadable'])).sort()).toEqual(['Delivery Status Notification (Failure)', 'unsubscribe']);
    expect(log.lines().filter((l) => /unmatched, no reader changed/.test(String(l.msg)))).toHaveLength(2);
  });

  it('with no processed folder, flags messages seen and leaves them in place', async () => {
    await deliver(fixture('arf-yahoo.eml'));
    expect(await poller({ processedMailbox: '' }).pollOnce()).toMatchObject({ processed: 1 });
    expect(sink.readers.get(READER.subscriberId)!.status).toBe('complained');
    expect(await subjects('INBOX')).toEqual(['FW: Die Woche in Chinas KI-Industrie']);
    expect(await poller({ processedMailbox: '' }).pollOnce()).toMatchObject({ processed: 0 });
  });

  it('leaves mail unseen while the sink is down, and applies it once when it is back', async () => {
    await deliver(fixture('postfix-dsn-user-unknown.eml'));
    await deliver(fixture('unsubscribe-legacy.eml'));
    current = DOWN_SINK;
    expect(await poller().pollOnce()).toEqual({ processed: 0, kept: 0, deferred: 2 });
    expect((await subjects('INBOX')).length).toBe(2);
    current = sink;
    expect(await poller().pollOnce()).toEqual({ processed: 2, kept: 0, deferred: 0 });
    expect(sink.applied).toHaveLength(2);
    expect(log.lines().some((l) => l.msg === 'IMAP: could not record a message; it stays unseen for the next poll')).toBe(true);
  });

  it('says clearly when the login is refused, without the password', async () => {
    const wrong = dovecot.url.replace(dovecot.password, 'wrong-password');
    const error = (await poller({ url: wrong })
      .pollOnce()
      .then(() => new Error('expected a refusal'))
      .catch((e: unknown) => e)) as Error & { hint?: string };
    expect(error).toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(/login .* was refused/) });
    expect(error.message).not.toContain('wrong-password');
  });

  it('polls on its own until stopped', async () => {
    const running = poller({ pollSeconds: 1 });
    running.start();
    // The first poll finds nothing; a later one finds what arrives meanwhile.
    await new Promise((r) => setTimeout(r, 300));
    await deliver(fixture('postfix-dsn-user-unknown.eml'));
    const deadline = Date.now() + 10_000;
    while (sink.readers.get(READER.subscriberId)!.status !== 'bounced' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    await running.stop();
    expect(sink.readers.get(READER.subscriberId)!.status).toBe('bounced');
  });
});
