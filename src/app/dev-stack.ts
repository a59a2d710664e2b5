import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { markDevStopped, readDevEnv, STATE_DIR, writeDevEnv } from '../config/dev-env.ts';
import { loadConfig } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { createLogger, type Logger } from '../log.ts';
import type { Lang } from '../core/lang.ts';
import type { Apps } from './apps.ts';
import type { RedisSubscriberStore } from '../subscribers/redis-store.ts';
import { startDevInbox, type DevInbox } from '../transport/dev-inbox.ts';
import { createSmtpTransport } from '../transport/smtp.ts';
import { createCampaignTransport } from '../transport/campaign-transport.ts';
import type { Transport } from '../transport/types.ts';
import { startDevRedis, type DevRedis } from './dev-redis.ts';
import { preflightRedis } from './preflight.ts';
import { guardRejections } from './rejection-guard.ts';

export interface DevOptions {
  /** Admin app; the public app gets port + 1. */
  port: number;
  /** Where `.depesche/` lives. @defaultValue process.cwd() */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  logger?: Logger;
}

export interface DevStack {
  config: Config;
  urls: { admin: string; preview: string; inbox: string; api: string; queues: string; metrics: string; public: string; archive: string; smtp: string; redis: string };
  /** Active members of the sample list by language, as seeded or as left by earlier runs. */
  sample: Record<Lang, number>;
  /** Settings a CLI in another terminal needs to reach this stack. */
  cliEnv: Record<string, string>;
  /** Every mail the stack sent, kept in `.depesche/inbox/`. */
  inbox: DevInbox;
  close(): Promise<void>;
}

export const SAMPLE_LIST = 'sample';

/** A few readers in each language; example.org addresses go nowhere but the dev inbox. */
export const SAMPLE_SUBSCRIBERS: { email: string; name: string; lang: Lang }[] = [
  { email: 'anna.berger@example.org', name: 'Anna Berger', lang: 'de' },
  { email: 'jonas.keller@example.org', name: 'Jonas Keller', lang: 'de' },
  { email: 'leyla.demir@example.org', name: '', lang: 'de' },
  { email: 'emma.clarke@example.org', name: 'Emma Clarke', lang: 'en' },
  { email: 'wei.zhang@example.org', name: 'Wei Zhang', lang: 'en' },
  { email: 'sam.okafor@example.org', name: '', lang: 'en' },
];

/**
 * A dev secret kept under `.depesche/` so links in mails from earlier runs still verify.
 * Never used when DEPESCHE_SECRET is set.
 */
export function devSecret(dir: string): string {
  const file = join(dir, 'dev-secret');
  if (existsSync(file)) {
    const stored = readFileSync(file, 'utf8').trim();
    if (stored.length >= 32) return stored;
  }
  mkdirSync(dir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  return secret;
}

/** The stack's own `depesche inbound` on a free loopback port, fed by the dev inbox (dev-returns.ts). */
async function startDevReturnChannel(config: Config, inbox: DevInbox, logger: Logger, cleanups: (() => Promise<void>)[]): Promise<void> {
  const [{ startInbound }, { wireDevReturns }, { ReturnAddresses, returnAddressSettings }] = await Promise.all([
    import('./inbound-process.ts'),
    import('./dev-returns.ts'),
    import('../inbound/return-addresses.ts'),
  ]);
  const run = await startInbound(config, { smtp: true, imap: false, logger });
  cleanups.push(() => run.close());
  const addresses = new ReturnAddresses(returnAddressSettings(config, [config.DEPESCHE_SECRET!]));
  const unwire = wireDevReturns({ inbox, inboundPort: run.smtp!.port, addresses, logger });
  cleanups.push(async () => unwire());
}

export async function seedSampleList(store: RedisSubscriberStore): Promise<number> {
  // Upserts never resubscribe someone who unsubscribed, so re-seeding keeps dev choices.
  const results = await store.upsertMany(SAMPLE_SUBSCRIBERS, SAMPLE_LIST, { defaultStatus: 'active', source: 'dev-seed' });
  return results.filter((r) => r.outcome === 'created').length;
}

/**
 * `depesche dev`: Redis (REDIS_URL or a private redis-server), the dev inbox, the admin
 * app with preview, inbox, ops API and queue dashboard on `port`, the public app on
 * `port + 1`, and a worker, all in this process and on loopback.
 */
export async function startDevStack(options: DevOptions): Promise<DevStack> {
  const env = options.env ?? process.env;
  const cwd = resolve(options.cwd ?? process.cwd());
  const stateDir = join(cwd, STATE_DIR);
  // The last run's ports, kept where still free: shells that sourced dev.env keep working.
  const last = readDevEnv(stateDir);
  const portOf = (url: string | undefined) => (url ? Number(/:(\d+)\/?$/.exec(url)?.[1]) || undefined : undefined);
  const adminPort = options.port;
  const publicPort = adminPort + 1;
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => {});
    cleanups.length = 0;
  };

  // Name a bad setting before anything starts, rather than after Redis is up.
  loadConfig({ env, flags: { HOST: '127.0.0.1', PORT: publicPort, ADMIN_HOST: '127.0.0.1', ADMIN_PORT: adminPort } });

  try {
    // The apps and the worker weigh seconds of module loading; load them while Redis starts,
    // so a missing redis-server is reported at once instead of after the load.
    const stackModules = Promise.all([import('./apps.ts'), import('../campaign/index.ts')]);
    stackModules.catch(() => {});
    const redis: DevRedis = await startDevRedis({ redisUrl: env.REDIS_URL, dataDir: join(stateDir, 'redis'), preferredPort: portOf(last?.REDIS_URL) });
    cleanups.push(() => redis.stop());
    const [{ buildApps, listen }, { startWorker, failCurrentBatch }] = await stackModules;
    // Mails are kept in .depesche/inbox/, so the inbox survives a restart.
    const inbox: DevInbox = await startDevInbox({ port: portOf(last?.SMTP_URL) ?? 0, dir: join(stateDir, 'inbox') });
    cleanups.push(() => inbox.close());

    const config = loadConfig({
      env,
      flags: {
        REDIS_URL: redis.url,
        SMTP_URL: inbox.url,
        DEPESCHE_SECRET: env.DEPESCHE_SECRET || devSecret(stateDir),
        PUBLIC_URL: env.PUBLIC_URL || `http://127.0.0.1:${publicPort}`,
        // Sends from dev go to the dev inbox; its loopback links are the point.
        ALLOW_DEV_URLS: 'true',
        // Each message's own return path, so bounces from the dev inbox name their reader (dev-returns.ts).
        RETURN_PATH_DOMAIN: env.RETURN_PATH_DOMAIN || 'return.example.org',
        INBOUND_SMTP_HOST: '127.0.0.1',
        INBOUND_SMTP_PORT: 0,
        INBOUND_QUARANTINE_DIR: env.INBOUND_QUARANTINE_DIR || join(stateDir, 'quarantine'),
        // dev is loopback only, whatever the environment says for serve.
        HOST: '127.0.0.1',
        PORT: publicPort,
        ADMIN_HOST: '127.0.0.1',
        ADMIN_PORT: adminPort,
      },
    });
    const logger = options.logger ?? createLogger({ level: config.LOG_LEVEL, name: 'depesche-dev' });
    await preflightRedis(config, (message) => logger.warn(message), { secret: true });

    const transport: Transport = createSmtpTransport(config);
    cleanups.push(() => transport.close());

    const apps: Apps = await buildApps({ config, logger, transport, inbox, watch: true });
    cleanups.push(() => apps.close());
    const seeded = await seedSampleList(apps.store);
    logger.debug({ seeded, list: SAMPLE_LIST }, 'sample list ready');

    // The worker gets its own pool: closing it on shutdown must not cut off the apps' mail.
    const workerLog = logger.child({ component: 'worker' });
    // A stray rejection in the worker fails its batch and is logged with the campaign,
    // instead of ending dev with every app in it.
    const unguard = guardRejections((fields, message) => workerLog.error(fields, message), failCurrentBatch);
    cleanups.push(async () => unguard());
    const worker = await startWorker({
      config,
      subscribers: apps.store,
      transport: apps.smtpLatency.instrument(createCampaignTransport(config)),
      log: (level, message, fields) => workerLog[level](fields ?? {}, message),
    });
    // Registered last, so it stops first: in-flight messages finish while Redis is still up.
    cleanups.push(async () => {
      await worker.close();
    });
    await startDevReturnChannel(config, inbox, logger.child({ component: 'inbound' }), cleanups);

    await listen(apps.admin, '127.0.0.1', adminPort, 'admin app', '--port');
    await listen(apps.public, '127.0.0.1', publicPort, 'public app', '--port');

    const admin = `http://127.0.0.1:${adminPort}`;
    const cliEnv: Record<string, string> = {
      REDIS_URL: redis.url,
      DEPESCHE_PREFIX: config.DEPESCHE_PREFIX,
      SMTP_URL: inbox.url,
      PUBLIC_URL: config.PUBLIC_URL,
      DEPESCHE_SECRET: config.DEPESCHE_SECRET!,
      ALLOW_DEV_URLS: 'true',
    };
    writeDevEnv(stateDir, cliEnv);
    cleanups.unshift(async () => markDevStopped(stateDir));

    const sample = (await apps.store.lists()).find((l) => l.name === SAMPLE_LIST)?.activeByLang ?? { de: 0, en: 0 };

    return {
      config,
      sample,
      urls: {
        admin,
        preview: `${admin}/`,
        inbox: `${admin}/inbox`,
        api: `${admin}/api`,
        queues: `${admin}/queues`,
        metrics: `${admin}/metrics`,
        public: `http://127.0.0.1:${publicPort}`,
        archive: `http://127.0.0.1:${publicPort}/archive`,
        smtp: inbox.url,
        redis: redis.owned ? `${redis.url} (private, data in ${redis.dir})` : redis.url,
      },
      cliEnv,
      inbox,
      close: cleanup,
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
