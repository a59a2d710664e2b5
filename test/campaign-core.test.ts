import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QueueEvents } from 'bullmq';
import { simpleParser } from 'mailparser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { preflightRedis } from '../src/app/preflight.ts';
import { CampaignService, type CampaignCompiler } from '../src/campaign/index.ts';
import { campaignKeys } from '../src/campaign/keys.ts';
import { BATCH_QUEUE } from '../src/campaign/queues.ts';
import { createRedis, keyspace, loadConfig } from '../src/config/index.ts';
import { createCompiler } from '../src/render/index.ts';
import { buildAdminApp } from '../src/server/admin/app.ts';
import { cli, exited, fixedCompiler, killed, LIST, makeFixture, root, SECRET, sleep, tinyEditions, waitDone, waitUntil, type Fixture, type FixtureHost } from './support/campaign.ts';
import { freePort } from './support/ports.ts';
import { startRedis, type TestRedis } from './support/redis.ts';
import { startSmtp, type TestSmtp } from './support/smtp.ts';

const SLUG = '2026-02-22-china-ai2x';

let redis: TestRedis;
let sink: TestSmtp<undefined>;
const cleanups: (() => Promise<void>)[] = [];
const host: FixtureHost = { redis: () => redis, sink: () => sink, compiler: fixedCompiler((slug) => tinyEditions(slug)), cleanups };
const fixture = (count: number, extra: Record<string, string> = {}) => makeFixture(host, count, extra);

beforeAll(async () => {
  [redis, sink] = await Promise.all([startRedis(), startSmtp({ parse: false })]);
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await sink?.close();
  await redis?.stop();
});

/** Ledger entries left as claims: a recipient nobody will ever record. */
async function openClaims(f: Fixture, id: string): Promise<number> {
  const ledger = await redis.client().hvals(campaignKeys(keyspace(f.prefix), id).ledger);
  return ledger.filter((code) => code.startsWith('c:')).length;
}

function everyoneOnce(f: Fixture, except: Set<string> = new Set()): void {
  for (const email of f.emails) if (!except.has(email)) expect(sink.received(email), email).toBe(1);
}

describe('one live campaign per issue and list', () => {
  it('gives two concurrent `depesche send` processes one campaign, and every reader one mail', async () => {
    const f = await fixture(40);
    const [a, b] = await Promise.all([cli(f.vars, 'send', SLUG, '--list', LIST), cli(f.vars, 'send', SLUG, '--list', LIST)]);
    const [winner, loser] = a.code === 0 ? [a, b] : [b, a];
    expect(winner.code, winner.stderr).toBe(0);
    expect(loser.code).toBe(1);
    const id = winner.stdout.trim();
    expect(loser.stderr).toContain(`campaign ${id}`);
    expect(await f.service.list()).toHaveLength(1);
    await f.worker();
    expect(await waitDone(f, id, 60_000)).toMatchObject({ sent: 40, remaining: 0 });
    everyoneOnce(f);
  }, 120_000);

  it('answers two concurrent API posts (a double-clicked Send) with one 201 and one 409 naming the winner', async () => {
    const f = await fixture(30);
    const app = await buildAdminApp({ config: { ADMIN_HOST: '127.0.0.1', ADMIN_TOKEN: undefined }, campaigns: f.service });
    cleanups.push(() => app.close());
    const base = await app.listen({ host: '127.0.0.1', port: await freePort() });
    const post = () => fetch(`${base}/api/campaigns`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ slug: SLUG, list: LIST }) });
    const answers = await Promise.all([post(), post()]);
    const bodies = (await Promise.all(answers.map((r) => r.json()))) as { id?: string; error?: { message: string } }[];
    expect(answers.map((r) => r.status).sort()).toEqual([201, 409]);
    const id = bodies.find((b) => b.id)!.id!;
    expect(bodies.find((b) => b.error)!.error!.message).toContain(id);
    await f.worker();
    expect(await waitDone(f, id, 30_000)).toMatchObject({ sent: 30, remaining: 0 });
    everyoneOnce(f);
    // The console's send form posts once however often it is clicked (`data-once`); the
    // browser test in console-campaigns.test.ts clicks it twice and counts the requests.
    const page = await app.inject({ url: '/campaigns/new' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/<form[^>]*id="send"[^>]*data-once/);
  }, 60_000);
});

describe('batches drain every task', () => {
  it('records a recipient whose task throws, never leaves a claim, and keeps the worker process alive', async () => {
    const f = await fixture(30, { SMTP_POOL_SIZE: '2' });
    const keys = keyspace(f.prefix);
    // A damaged subscriber record: reading it fails (WRONGTYPE), before any claim.
    const unreadable = f.ids[4]!;
    await redis.client().del(keys.key('sub', unreadable));
    await redis.client().set(keys.key('sub', unreadable), 'not a hash');
    // A reader erased while the server takes its time to refuse them: recording the bounce
    // on the subscriber then fails (not found).
    const erased = f.emails[7]!;
    // A reader whose connection drops once the message is in: the answer is unknown.
    const dropped = f.emails[9]!;
    sink.setFault(({ rcpt }) => (rcpt === erased ? { code: 550, message: '5.1.1 No such user', delayMs: 1500 } : undefined));
    sink.setDrop((rcpt) => rcpt === dropped);
    let output = '';
    const worker = f.spawnWorker({}, (text) => (output += text));
    try {
      const id = (await f.service.create({ slug: SLUG, list: LIST })).id!;
      await waitUntil('the slow refusal to start', () => (sink.attempts.get(erased) ?? 0) > 0, 60_000, 20);
      await f.store.forget(f.ids[7]!);
      const status = await waitDone(f, id, 60_000);
      expect(status).toMatchObject({ sent: 27, failed: 1, bounced: 1, unclear: 1, remaining: 0 });
      expect(await f.service.ledger.stateOf(id, unreadable)).toBe('failed');
      expect(await f.service.ledger.stateOf(id, f.ids[7]!)).toBe('bounced');
      expect(await f.service.unclear(id)).toEqual([expect.objectContaining({ email: dropped, cause: 'connection dropped after DATA' })]);
      expect(sink.received(dropped)).toBe(1);
      expect(await openClaims(f, id)).toBe(0);
      expect(worker.exitCode).toBeNull();
      expect(output).toMatch(new RegExp(`"campaign":"${id}".*sending to one recipient failed unexpectedly|sending to one recipient failed unexpectedly.*"campaign":"${id}"`));
      expect(output).toContain('could not mark a bounced subscriber as bounced');
    } finally {
      sink.setFault(undefined);
      sink.setDrop(undefined);
    }
    worker.kill('SIGTERM');
    expect(await exited(worker)).toBe(0);
  }, 90_000);

  it('completes a campaign paused between its last claim and its last batch on resume', async () => {
    const f = await fixture(6);
    await f.worker();
    sink.setDelay(1500);
    try {
      const id = (await f.service.create({ slug: SLUG, list: LIST })).id!;
      // Every message is in the server, whose answers take 1.5 s: all claims are made.
      await waitUntil('6 mails in', () => f.mails().length === 6, 30_000, 10);
      await f.service.pause(id, 'a second look');
      const done = campaignKeys(keyspace(f.prefix), id).done;
      await waitUntil('the batch to finish', async () => (await redis.client().scard(done)) === 1, 30_000, 50);
      expect(await f.service.status(id)).toMatchObject({ state: 'paused', remaining: 0, sent: 6 });
      expect(await f.service.resume(id)).toMatchObject({ state: 'done' });
    } finally {
      sink.setDelay(0);
    }
    everyoneOnce(f);
  }, 60_000);
});

describe('pause without polling', () => {
  it('parks 1,200 batches of a paused campaign after one activation each, and resume queues each once', async () => {
    // A long lock: on a loaded machine a short one can let BullMQ take a live job for a
    // stalled one and run it twice, which would blur the count of activations.
    const f = await fixture(1200, { BATCH_SIZE: '1', WORKER_CONCURRENCY: '16', JOB_LOCK_MS: '20000' });
    const events = new QueueEvents(BATCH_QUEUE, { connection: createRedis(f.config, { maxRetriesPerRequest: null }), prefix: keyspace(f.prefix).tag });
    cleanups.push(async () => {
      await events.close();
      events.disconnect();
    });
    let activations = 0;
    const requeued = new Set<string>();
    events.on('active', ({ jobId }) => {
      activations++;
      if (jobId.endsWith('-r1')) requeued.add(jobId);
    });
    await events.waitUntilReady();
    const id = (await f.service.create({ slug: SLUG, list: LIST })).id!;
    await f.service.pause(id, 'hold on');
    await f.worker();
    await waitUntil('1,200 parked batches', async () => (await f.service.status(id)).parked === 1200, 90_000, 100);
    await waitUntil('1,200 activations', () => activations === 1200, 10_000, 20);
    await sleep(2500);
    // Paused: nothing sent, nothing woke up again.
    expect(activations).toBe(1200);
    expect(f.mails()).toHaveLength(0);
    await f.service.resume(id);
    // A second resume changes nothing: every parked batch was queued once.
    await expect(f.service.resume(id)).rejects.toMatchObject({ code: 'E_CONFLICT' });
    expect(await waitDone(f, id, 120_000)).toMatchObject({ sent: 1200, remaining: 0, parked: 0 });
    everyoneOnce(f);
    await waitUntil('2,400 activations', () => activations >= 2400, 10_000, 20);
    // Each parked batch came back once, as its own job.
    expect(requeued.size).toBe(1200);
    expect(activations).toBe(2400);
  }, 240_000);
});

describe('fix a mistake mid-send', () => {
  it('pause, update the subject, resume: earlier readers have the old subject, the rest the new, nobody two mails', async () => {
    const content = mkdtempSync(join(tmpdir(), 'depesche-update-'));
    cleanups.push(async () => rmSync(content, { recursive: true, force: true }));
    for (const dir of ['templates', 'locales', `issues/${SLUG}`]) cpSync(join(root, dir), join(content, dir), { recursive: true });
    const real = createCompiler({ contentDir: content, publicUrl: 'https://news.example.org' });
    const f = await makeFixture({ ...host, compiler: real as CampaignCompiler }, 40);
    await f.worker();
    const id = (await f.service.create({ slug: SLUG, list: LIST, rate: 25 })).id!;
    await waitUntil('10 mails', () => f.mails().length >= 10, 30_000, 5);
    await f.service.pause(id, 'typo in the subject');
    await sleep(500);
    const before = f.mails().length;
    for (const lang of ['de', 'en']) {
      const file = join(content, 'issues', SLUG, `${lang}.md`);
      writeFileSync(file, readFileSync(file, 'utf8').replace(/^subject: .*$/m, `subject: "Corrected subject (${lang})"`));
    }
    const updated = await f.service.update(id);
    expect(updated.version).toBe(2);
    expect(updated.subjects.map((s) => s.after).sort()).toEqual(['Corrected subject (de)', 'Corrected subject (en)']);
    expect(updated.status.sent).toBe(before);
    await f.service.resume(id);
    expect(await waitDone(f, id, 60_000)).toMatchObject({ sent: 40, remaining: 0 });
    everyoneOnce(f);
    const mails = [...f.mails()].sort((a, b) => a.at - b.at);
    const subjects = await Promise.all(mails.map(async (m) => (await simpleParser(m.raw)).subject ?? ''));
    expect(subjects.slice(0, before).filter((s) => s.startsWith('Corrected'))).toEqual([]);
    expect(subjects.slice(before).every((s) => s.startsWith('Corrected subject'))).toBe(true);
  }, 90_000);

  it('cancel at about half, then --rest: everybody has exactly one mail', async () => {
    const f = await fixture(200);
    await f.worker();
    const first = (await f.service.create({ slug: SLUG, list: LIST, rate: 200 })).id!;
    await waitUntil('100 mails', () => f.mails().length >= 100, 30_000, 5);
    await f.service.cancel(first);
    await sleep(300);
    const reached = f.mails().length;
    expect(reached).toBeLessThan(200);
    await expect(f.service.create({ slug: SLUG, list: LIST })).rejects.toMatchObject({ code: 'E_CONFLICT', message: expect.stringContaining('already sent'), hint: expect.stringContaining('--rest') });
    const dry = await f.service.create({ slug: SLUG, list: LIST, rest: true, dryRun: true });
    expect(dry.rest).toEqual({ reached, remaining: 200 - reached, earlier: [first] });
    const rest = (await f.service.create({ slug: SLUG, list: LIST, rest: true })).id!;
    expect(await waitDone(f, rest, 30_000)).toMatchObject({ sent: 200 - reached, previously: reached, remaining: 0 });
    everyoneOnce(f);
  }, 60_000);
});

describe('refusing to run misconfigured', () => {
  it('refuses an evicting Redis (read from INFO, with CONFIG disabled), in the worker and in import', async () => {
    const lru = await startRedis({ args: ['--maxmemory-policy', 'allkeys-lru', '--rename-command', 'CONFIG', ''] });
    cleanups.push(() => lru.stop());
    const f = await fixture(1);
    let output = '';
    const worker = f.spawnWorker({ REDIS_URL: lru.url }, (text) => (output += text));
    expect(await exited(worker)).toBe(1);
    expect(output).toMatch(/maxmemory-policy allkeys-lru/);
    expect(output).toContain('CONFIG SET maxmemory-policy noeviction');
    expect(output).not.toMatch(/\n\s+at /);
    const csv = join(mkdtempSync(join(tmpdir(), 'depesche-lru-')), 'list.csv');
    writeFileSync(csv, 'email,name,lang\nanna@example.org,Anna,de\n');
    const imported = await cli({ ...f.vars, REDIS_URL: lru.url }, 'subscribers', 'import', csv, '--list', 'x');
    expect(imported.code).toBe(1);
    expect(imported.stderr).toMatch(/maxmemory-policy allkeys-lru/);
    expect(await lru.client().dbsize()).toBe(0);
  }, 60_000);

  it('refuses a worker whose DEPESCHE_SECRET differs from the installation\'s, allows a rotation on purpose, and explains a missing one', async () => {
    const f = await fixture(1);
    // The apps started first and left the installation's fingerprint.
    await preflightRedis(f.config, () => {}, { secret: true });
    let output = '';
    const wrong = f.spawnWorker({ DEPESCHE_SECRET: 'w'.repeat(40) }, (text) => (output += text));
    expect(await exited(wrong)).toBe(1);
    expect(output).toMatch(/DEPESCHE_SECRET differs from the one this installation uses/);

    let rotated = '';
    const rotating = f.spawnWorker({ DEPESCHE_SECRET: 'n'.repeat(40), DEPESCHE_SECRET_PREVIOUS: SECRET, LOG_LEVEL: 'info' }, (text) => (rotated += text));
    await waitUntil('the rotated worker to start', () => rotated.includes('worker ready'), 30_000, 50);
    expect(rotated).toMatch(/DEPESCHE_SECRET was rotated/);
    rotating.kill('SIGTERM');
    expect(await exited(rotating)).toBe(0);

    for (const [secret, message] of [['', /DEPESCHE_SECRET is not set/], ['short', /DEPESCHE_SECRET: must be at least 32 characters/]] as const) {
      let text = '';
      const child = f.spawnWorker({ DEPESCHE_SECRET: secret }, (chunk) => (text += chunk));
      expect(await exited(child)).toBe(1);
      expect(text).toMatch(message);
      expect(text).toMatch(/^error: /m);
      expect(text).not.toMatch(/\n\s+at /);
    }
  }, 90_000);

  it('refuses a real send with development URLs, in the service, the API and the page, unless allowed', async () => {
    const f = await fixture(3);
    const dev = loadConfig({ env: { ...f.vars, PUBLIC_URL: 'http://127.0.0.1:4001', MAIL_FROM: 'Depesche <newsletter@localhost>' } });
    const service = new CampaignService({ config: dev, subscribers: f.store, compiler: host.compiler });
    cleanups.push(() => service.close());
    await expect(service.create({ slug: SLUG, list: LIST })).rejects.toMatchObject({ code: 'E_CONFIG', message: expect.stringMatching(/PUBLIC_URL is http:\/\/127\.0\.0\.1:4001.*MAIL_FROM is/) });
    const dry = await service.create({ slug: SLUG, list: LIST, dryRun: true });
    expect(dry.warnings.join('\n')).toMatch(/would be refused without --allow-dev-urls/);
    const app = await buildAdminApp({ config: { ADMIN_HOST: '127.0.0.1', ADMIN_TOKEN: undefined }, campaigns: service, sendRefusal: ['PUBLIC_URL is http://127.0.0.1:4001'] });
    cleanups.push(() => app.close());
    const refused = await app.inject({ method: 'POST', url: '/api/campaigns', payload: { slug: SLUG, list: LIST } });
    expect(refused.json().error).toMatchObject({ code: 'E_CONFIG', hint: expect.stringContaining('--allow-dev-urls') });
    const page = await app.inject({ url: '/campaigns/new' });
    expect(page.body).toMatch(/Real sends are refused here: PUBLIC_URL is http:\/\/127\.0\.0\.1:4001/);
    // The dry run still works; its confirmation offers no send.
    const checked = await app.inject({ method: 'POST', url: '/campaigns/new', payload: `step=check&slug=${SLUG}&list=${LIST}&when=now`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(checked.statusCode).toBe(200);
    expect(checked.body).toMatch(/<button type="submit" class="btn primary" name="send" disabled data-refused>/);
    const allowed = await app.inject({ method: 'POST', url: '/api/campaigns', payload: { slug: SLUG, list: LIST, allowDevUrls: true } });
    expect(allowed.statusCode).toBe(201);
    expect(allowed.json().warnings.join('\n')).toMatch(/DKIM signing is off/);
    await service.cancel(allowed.json().id);

    // Allowed by flag or by ALLOW_DEV_URLS (as .depesche/dev.env sets it), the dry run says what the real send does.
    const dryAllowed = await app.inject({ method: 'POST', url: '/api/campaigns', payload: { slug: SLUG, list: LIST, dryRun: true, allowDevUrls: true } });
    expect(dryAllowed.json().warnings.join('\n')).toMatch(/PUBLIC_URL is http:\/\/127\.0\.0\.1:4001.*\(allowed for this send\)/);
    expect(dryAllowed.json().warnings.join('\n')).not.toMatch(/would be refused/);
    const devEnv = new CampaignService({ config: loadConfig({ env: { ...f.vars, PUBLIC_URL: 'http://127.0.0.1:4001', MAIL_FROM: 'Depesche <newsletter@localhost>', ALLOW_DEV_URLS: 'true' } }), subscribers: f.store, compiler: host.compiler });
    cleanups.push(() => devEnv.close());
    const devDry = await devEnv.create({ slug: SLUG, list: LIST, dryRun: true });
    expect(devDry.warnings.join('\n')).not.toMatch(/would be refused/);
    expect(devDry.warnings.join('\n')).toMatch(/\(allowed for this send\)/);
    const devReal = await devEnv.create({ slug: SLUG, list: LIST });
    expect(devReal.state).toBe('scheduled');
    await devEnv.cancel(devReal.id!);
  }, 30_000);
});

describe('crash recovery as documented', () => {
  it('hands a SIGKILLed worker\'s batch to another worker within JOB_LOCK_MS (5 s), and says who is unclear and why', async () => {
    const f = await fixture(600, { JOB_LOCK_MS: '5000', BATCH_SIZE: '600' });
    sink.setDelay(300);
    try {
      const id = (await f.service.create({ slug: SLUG, list: LIST })).id!;
      const first = f.spawnWorker();
      await waitUntil('30 mails', () => f.mails().length >= 30, 60_000, 10);
      // A second worker, idle: the one batch belongs to the first.
      let standbyOutput = '';
      const standby = f.spawnWorker({ LOG_LEVEL: 'info' }, (text) => (standbyOutput += text));
      await waitUntil('the standby worker', () => standbyOutput.includes('worker ready'), 60_000, 50);
      expect(f.mails().length).toBeLessThan(500);
      await killed(first);
      const killedAt = Date.now();
      const sentAtKill = (await f.service.status(id)).sent;
      // The dead worker records nothing more: the next recorded answer is the standby's.
      await waitUntil('an answer recorded by the standby worker', async () => (await f.service.status(id)).sent > sentAtKill, 20_000, 50);
      const recovery = (Date.now() - killedAt) / 1000;
      const status = await waitDone(f, id, 90_000);
      const unclear = await f.service.unclear(id);
      const arrived = unclear.filter((u) => sink.received(u.email!) === 1).length;
      console.log(`SIGKILL recovery: first answer recorded by the standby worker ${recovery.toFixed(1)} s after the kill (JOB_LOCK_MS=5000); ${unclear.length} unclear, ${arrived} of them had received the mail`);
      expect(recovery).toBeLessThan(15);
      expect(status).toMatchObject({ state: 'done', remaining: 0, failed: 0 });
      expect(status.sent + status.unclear).toBe(600);
      expect(status.unclear).toBeGreaterThan(0);
      expect(status.unclear).toBeLessThanOrEqual(2 * 5);
      for (const u of unclear) expect(u.cause).toBe('worker died');
      const unclearEmails = new Set(unclear.map((u) => u.email));
      for (const email of f.emails) {
        const n = sink.received(email);
        expect(n, email).toBeLessThanOrEqual(1);
        if (n === 0) expect(unclearEmails.has(email), email).toBe(true);
      }
      standby.kill('SIGTERM');
      expect(await exited(standby)).toBe(0);
    } finally {
      sink.setDelay(0);
    }
  }, 150_000);

  it('stops within SHUTDOWN_TIMEOUT_MS when Redis is gone at SIGTERM, exits non-zero and names the unrecorded answers', async () => {
    const own = await startRedis();
    cleanups.push(() => own.stop());
    const vars = { REDIS_URL: own.url, SHUTDOWN_TIMEOUT_MS: '2000', SMTP_POOL_SIZE: '2' };
    const f = await makeFixture({ ...host, redis: () => own }, 20, vars);
    sink.setDelay(1500);
    try {
      let output = '';
      const worker = f.spawnWorker(vars, (text) => (output += text));
      await f.service.create({ slug: SLUG, list: LIST });
      await waitUntil('mails in flight', () => f.mails().length >= 2, 60_000, 10);
      await own.kill();
      worker.kill('SIGTERM');
      const stopAt = Date.now();
      expect(await exited(worker)).toBe(1);
      expect(Date.now() - stopAt).toBeLessThan(8000);
      expect(output).toMatch(/gave up waiting for Redis after 2000 ms; [1-9]\d* answer\(s\) not recorded/);
      expect(output).toMatch(/"subscriber":"[a-z0-9]+"/);
    } finally {
      sink.setDelay(0);
      // Back up, so the fixture's connections close.
      await own.restart();
    }
  }, 90_000);
});
