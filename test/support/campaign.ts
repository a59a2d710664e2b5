import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CampaignService, startWorker, type CampaignCompiler, type CampaignStatus } from '../../src/campaign/index.ts';
import { createRedis, keyspace, loadConfig, type Config } from '../../src/config/index.ts';
import type { Edition } from '../../src/core/edition.ts';
import { mergeMarker } from '../../src/render/merge.ts';
import { RedisSubscriberStore } from '../../src/subscribers/redis-store.ts';
import type { TestRedis } from './redis.ts';
import type { TestSmtp } from './smtp.ts';

/**
 * Campaign suites share this: a fixture per test (its own key prefix on the suite's
 * redis-server, subscribers on a list, a CampaignService), workers in process or as
 * separate processes, and waiting helpers.
 */

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SECRET = 's'.repeat(40);
export const LIST = 'weekly';
export const NODE = join(root, 'node_modules/.bin/node');

/** Editions of a few hundred bytes, with every merge field: for tests that send thousands of batches. */
export function tinyEditions(slug: string, subject = 'Tiny issue'): Edition[] {
  const body = (lang: string) =>
    `<!doctype html><html lang="${lang}"><body><p>${mergeMarker('greeting')}</p><p>${subject}</p>` +
    `<a href="${mergeMarker('unsubscribeUrl')}">x</a><a href="${mergeMarker('preferencesUrl')}">p</a></body></html>`;
  return (['de', 'en'] as const).map((lang) => ({
    slug, lang, template: 'briefing', subject: `${subject} (${lang})`, preheader: '', title: subject, date: '2026-02-22',
    html: body(lang),
    text: `${mergeMarker('greeting')}\n${subject}\n${mergeMarker('unsubscribeUrl')}\n`,
    greeting: { named: lang === 'de' ? 'Hallo {name},' : 'Hello {name},', anonymous: lang === 'de' ? 'Hallo,' : 'Hello,' },
  }));
}

/** A compiler that hands out fixed editions, linted clean. */
export function fixedCompiler(editions: (slug: string) => Edition[] | Promise<Edition[]>): CampaignCompiler {
  return { compileForSend: async (slug) => ({ editions: await editions(slug), findings: [] }) };
}

export interface Fixture {
  prefix: string;
  vars: Record<string, string>;
  config: Config;
  store: RedisSubscriberStore;
  service: CampaignService;
  ids: string[];
  emails: string[];
  langs: ('de' | 'en')[];
  /** Mails the sink got for this fixture's subscribers. */
  mails(): TestSmtp<unknown>['mails'];
  worker(extra?: Record<string, string>): Promise<{ close(): Promise<void> }>;
  spawnWorker(extra?: Record<string, string>, onOutput?: (text: string) => void): ChildProcess;
}

export interface FixtureHost {
  redis: () => TestRedis;
  sink: () => TestSmtp<unknown>;
  compiler: CampaignCompiler;
  cleanups: (() => Promise<void>)[];
}

export function env(host: FixtureHost, prefix: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    REDIS_URL: host.redis().url,
    SMTP_URL: host.sink().url,
    DEPESCHE_PREFIX: prefix,
    DEPESCHE_SECRET: SECRET,
    MAIL_FROM: 'China AI2X Briefing <briefing@example.org>',
    PUBLIC_URL: 'https://news.example.org',
    LIST_ID_DOMAIN: 'briefing.example.org',
    SEND_RATE: '100000',
    BATCH_SIZE: '100',
    SMTP_POOL_SIZE: '5',
    WORKER_CONCURRENCY: '4',
    // Short enough that a killed worker's batch comes back within seconds, long enough that
    // a loaded machine's event-loop lag never makes BullMQ take a live batch for a stalled one.
    JOB_LOCK_MS: '5000',
    RETRY_BACKOFF_MS: '100',
    CONTENT_DIR: root,
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

let fixtures = 0;
export async function makeFixture(host: FixtureHost, count: number, extra: Record<string, string> = {}): Promise<Fixture> {
  const prefix = `t${++fixtures}x${Date.now().toString(36)}${process.pid}`;
  const vars = env(host, prefix, extra);
  const config = loadConfig({ env: vars });
  const connection = createRedis(config);
  const store = new RedisSubscriberStore(connection, keyspace(prefix));
  const rows = Array.from({ length: count }, (_, i) => ({
    email: `${prefix}-${i}@example.net`,
    name: i % 3 === 0 ? '' : `Reader ${i}`,
    lang: (i % 2 === 0 ? 'de' : 'en') as 'de' | 'en',
  }));
  const results = [];
  for (let i = 0; i < rows.length; i += 2000) results.push(...(await store.upsertMany(rows.slice(i, i + 2000), LIST, { defaultStatus: 'active' })));
  const service = new CampaignService({ config, redis: connection, subscribers: store, compiler: host.compiler });
  host.cleanups.push(async () => {
    await service.close();
    connection.disconnect();
  });
  const domainTag = `${prefix}-`;
  return {
    prefix,
    vars,
    config,
    store,
    service,
    ids: results.map((r) => r.id),
    emails: rows.map((r) => r.email),
    langs: rows.map((r) => r.lang),
    mails: () => host.sink().mails.filter((m) => m.to[0]!.startsWith(domainTag)),
    async worker(more = {}) {
      const wconfig = loadConfig({ env: { ...vars, ...more } });
      const wredis = createRedis(wconfig, { maxRetriesPerRequest: null });
      const running = await startWorker({ config: wconfig, subscribers: new RedisSubscriberStore(wredis, keyspace(prefix)) });
      let closed = false;
      const close = async () => {
        if (closed) return;
        closed = true;
        await running.close();
        wredis.disconnect();
      };
      host.cleanups.push(close);
      return { close };
    },
    spawnWorker(more = {}, onOutput) {
      const child = spawn(NODE, [join(root, 'worker/index.ts')], {
        cwd: root,
        env: { ...process.env, ...vars, ...more },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const relay = (chunk: Buffer) => {
        const text = chunk.toString();
        onOutput?.(text);
        if (!onOutput && /"level":(50|60)|Error/.test(text) && !/ExperimentalWarning/.test(text)) process.stderr.write(`[worker ${prefix}] ${text}`);
      };
      child.stdout?.on('data', relay);
      child.stderr?.on('data', relay);
      host.cleanups.push(async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      });
      return child;
    },
  };
}

export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 60_000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function killed(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
  });
}

export async function waitDone(f: Fixture, id: string, timeoutMs = 150_000): Promise<CampaignStatus> {
  await waitUntil(`campaign ${id} done`, async () => (await f.service.status(id)).state === 'done', timeoutMs, 100);
  return f.service.status(id);
}

/** Runs the CLI as a user would, with the fixture's settings. */
export function cli(vars: Record<string, string>, ...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(NODE, [join(root, 'bin/depesche.js'), ...args], { cwd: root, env: { ...process.env, ...vars } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}
