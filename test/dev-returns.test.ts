import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wireDevReturns } from '../src/app/dev-returns.ts';
import { startInbound } from '../src/app/inbound-process.ts';
import { loadConfig } from '../src/config/index.ts';
import { ReturnAddresses, returnAddressSettings } from '../src/inbound/return-addresses.ts';
import { createLogger } from '../src/log.ts';
import { startDevInbox, type DevInbox } from '../src/transport/dev-inbox.ts';
import { simulatedReturnFor } from '../src/transport/dev-returns.ts';
import { fixedCompiler, LIST, makeFixture, SECRET, tinyEditions, waitDone, waitUntil, type FixtureHost } from './support/campaign.ts';
import { freePort } from './support/ports.ts';
import { startRedis, type TestRedis } from './support/redis.ts';

/**
 * `depesche dev`'s return channel: a send to bounce@, full@ and complain@example.org through
 * the dev inbox comes back as a DSN or an ARF report, which shows in the inbox and is applied
 * by the stack's own inbound listener.
 */

const SLUG = '2026-02-22-china-ai2x';
let redis: TestRedis;
let inbox: DevInbox;
let dir: string;
const cleanups: (() => Promise<void>)[] = [];
const host: FixtureHost = {
  redis: () => redis,
  sink: () => ({ url: inbox.url, mails: [] }) as never,
  compiler: fixedCompiler((slug) => tinyEditions(slug)),
  cleanups,
};

beforeAll(async () => {
  [redis, inbox] = await Promise.all([startRedis(), startDevInbox()]);
  dir = await mkdtemp(join(tmpdir(), 'depesche-dev-returns-'));
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await inbox?.close();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('dev return channel', () => {
  it('knows only the reserved example.org triggers', () => {
    expect(simulatedReturnFor('Bounce@Example.org')).toBe('bounce');
    expect(simulatedReturnFor('complain@example.org')).toBe('complain');
    expect(simulatedReturnFor('full@example.org')).toBe('full');
    expect(simulatedReturnFor('bounce@example.com')).toBeUndefined();
    expect(simulatedReturnFor('anna@example.org')).toBeUndefined();
  });

  it('bounce@ is bounced, complain@ complained, full@ counted and still active; the reports show in the inbox', async () => {
    const f = await makeFixture(host, 1, { RETURN_PATH_DOMAIN: 'return.example.org' });
    const special = ['bounce@example.org', 'complain@example.org', 'full@example.org'];
    const rows = await f.store.upsertMany(special.map((email) => ({ email, lang: 'en' as const })), LIST, { defaultStatus: 'active' });
    const config = loadConfig({ env: { ...f.vars, INBOUND_SMTP_PORT: String(await freePort()), INBOUND_QUARANTINE_DIR: join(dir, 'q'), IMAP_URL: '' } });
    const logger = createLogger({ level: 'silent', pretty: false });
    const run = await startInbound(config, { smtp: true, imap: false, logger });
    cleanups.push(() => run.close());
    const unwire = wireDevReturns({ inbox, inboundPort: run.smtp!.port, addresses: new ReturnAddresses(returnAddressSettings(config, [SECRET])), logger });
    cleanups.push(async () => unwire());

    const id = (await f.service.create({ slug: SLUG, list: LIST })).id!;
    await f.worker();
    await waitDone(f, id, 60_000);
    const status = async (i: number) => (await f.store.get(rows[i]!.id))!.status;
    await waitUntil('bounce@ bounced and complain@ complained', async () => (await status(0)) === 'bounced' && (await status(1)) === 'complained', 15_000);
    await waitUntil('full@ counted', async () => (await f.service.ledger.stateOf(id, rows[2]!.id)) === 'failed', 15_000);
    expect(await status(2)).toBe('active');
    expect((await f.store.get(f.ids[0]!))!.status).toBe('active');
    expect(await f.service.status(id)).toMatchObject({ bounced: 1, failed: 1, sent: 2 });

    const reports = inbox.list().filter((m) => m.envelope.to.some((to) => to.endsWith('@return.example.org')));
    expect(reports.map((m) => m.subject).sort()).toEqual(['Complaint about a message to complain@example.org', 'Undelivered Mail Returned to Sender', 'Undelivered Mail Returned to Sender']);
  }, 90_000);
});
