import { join, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { CampaignService } from '../campaign/index.ts';
import { createRedis, keyspace } from '../config/redis.ts';
import { devUrlProblems } from '../config/preflight.ts';
import type { Config } from '../config/schema.ts';
import { DepescheError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { createCompiler, type Compiler } from '../render/index.ts';
import { RedisSubscriberStore } from '../subscribers/redis-store.ts';
import type { DevInbox } from '../transport/dev-inbox.ts';
import type { Transport } from '../transport/types.ts';
import { loadTranslator, type Translator } from '../i18n/index.ts';
import { previewPlugin } from '../server/preview/plugin.ts';
import { buildAdminApp } from '../server/admin/app.ts';
import { adminNav } from '../server/admin/layout.ts';
import { RedisAdminSessions } from '../server/admin/sessions.ts';
import { buildPublicSide, type PublicSide } from './public-side.ts';
import { createMetrics } from '../server/admin/metrics.ts';
import { ReturnCounts } from '../inbound/counts.ts';
import { createSmtpLatencyRecorder, readSmtpLatency, type SmtpLatencyRecorder } from '../transport/smtp-latency.ts';

export interface AppsOptions {
  config: Config;
  logger: Logger;
  /** Mail the apps send themselves: preview proofs and confirmation mails. */
  transport: Transport;
  /** `depesche dev` only. */
  inbox?: DevInbox;
  /** Live reload for the preview. */
  watch: boolean;
}

export interface Apps {
  config: Config;
  admin: FastifyInstance;
  public: FastifyInstance;
  /** The public app's wiring: its subscriber domain, spool and own Redis connection. */
  publicSide: PublicSide;
  redis: Redis;
  store: RedisSubscriberStore;
  compiler: Compiler;
  campaigns: CampaignService;
  queues: Queue[];
  /** Times SMTP sends into Redis; wrap the worker's transport with `instrument` to count its sends. */
  smtpLatency: SmtpLatencyRecorder;
  /** Closes apps, queues and connections; not the transport, which the caller owns. */
  close(): Promise<void>;
}

/** Delivery totals over recent campaigns for /metrics; the ledger counters only grow. */
async function deliveryTotals(campaigns: CampaignService): Promise<Record<string, number>> {
  const totals: Record<string, number> = { sent: 0, failed: 0, bounced: 0, skipped: 0, unclear: 0 };
  for (const status of await campaigns.list(1000)) {
    for (const key of Object.keys(totals)) totals[key]! += status[key as 'sent'];
  }
  return totals;
}

/**
 * Builds the public and the admin app over one Redis, as `depesche serve` and
 * `depesche dev` both run them. Nothing listens yet; the caller binds the ports.
 */
export async function buildApps(options: AppsOptions): Promise<Apps> {
  const { config, logger } = options;
  const keys = keyspace(config.DEPESCHE_PREFIX);
  const redis = createRedis(config);
  redis.on('error', (error) => logger.warn({ err: error }, 'redis connection error'));
  const store = new RedisSubscriberStore(redis, keys);
  const contentDir = resolve(config.CONTENT_DIR);
  const compiler = createCompiler({ contentDir, publicUrl: config.PUBLIC_URL });
  const campaigns = new CampaignService({ config, subscribers: store, compiler });
  const queues: Queue[] = [campaigns.fanoutQueue, campaigns.batchQueue];
  for (const queue of queues) queue.on('error', (error) => logger.warn({ err: error, queue: queue.name }, 'queue error'));
  const smtpLatency = createSmtpLatencyRecorder(redis, keys);
  // Proof and confirmation mails are SMTP sends too.
  const transport = smtpLatency.instrument(options.transport);
  const metrics = createMetrics({
    queues: async () => Promise.all(queues.map(async (q) => ({ queue: q.name, counts: await q.getJobCounts() }))),
    deliveries: () => deliveryTotals(campaigns),
    returns: () => new ReturnCounts(redis, keys).read(),
    smtpLatency: () => readSmtpLatency(redis, keys),
  });

  const admin = await buildAdminApp({
    config,
    logger: logger.child({ app: 'admin' }),
    redis,
    queues,
    campaigns,
    lists: () => store.lists(config.DEFAULT_LIST),
    signupList: config.DEFAULT_LIST,
    subscribers: store,
    ...(config.ADMIN_TOKEN ? { sessions: new RedisAdminSessions(redis, keys, config.ADMIN_TOKEN) } : {}),
    metrics,
    ...(options.inbox ? { inbox: options.inbox } : {}),
    // With their lint errors: the send form offers only issues a send would accept.
    issues: async () =>
      Promise.all(
        (await compiler.listIssues()).map(async (i) => ({
          slug: i.slug, title: i.title, date: i.date, langs: i.langs,
          errors: (await compiler.lint(i.slug).catch(() => [{ severity: 'error' }])).filter((f) => f.severity === 'error').length,
        })),
      ),
    sendRefusal: config.ALLOW_DEV_URLS ? [] : devUrlProblems(config),
    campaignTitles: async (id) => Object.fromEntries((await campaigns.campaigns.editions(id)).map((e) => [e.lang, e.title])),
    mountPreview: async (app) => {
      await app.register(previewPlugin, {
        contentDir,
        publicUrl: config.PUBLIC_URL,
        compiler,
        transport,
        mailFrom: config.MAIL_FROM,
        editionFallback: config.EDITION_FALLBACK,
        links: adminNav('en', { without: ['preview'] }),
        proofSettings: {
          // Proofs carry links signed like a real send's, so the public app accepts them.
          ...(config.DEPESCHE_SECRET ? { secret: config.DEPESCHE_SECRET } : {}),
          ...(config.UNSUBSCRIBE_MAILTO ? { unsubscribeMailto: config.UNSUBSCRIBE_MAILTO } : {}),
          ...(config.LIST_ID_DOMAIN ? { listIdDomain: config.LIST_ID_DOMAIN } : {}),
        },
        watch: options.watch,
      });
    },
  });

  let publicSide: PublicSide;
  try {
    const translator: Translator = await loadTranslator(join(contentDir, 'locales'));
    publicSide = await buildPublicSide({ config, translator, transport, logger });
  } catch (error) {
    await admin.close().catch(() => {});
    await campaigns.close().catch(() => {});
    redis.disconnect();
    throw error;
  }
  const publicApp = publicSide.app;

  return {
    config,
    admin,
    public: publicApp,
    publicSide,
    redis,
    store,
    compiler,
    campaigns,
    queues,
    smtpLatency,
    async close() {
      await Promise.allSettled([admin.close(), publicSide.close()]);
      await smtpLatency.close().catch(() => {});
      await campaigns.close().catch(() => {});
      redis.disconnect();
    },
  };
}

/** Listens, and turns EADDRINUSE and friends into an error that names the setting to change. */
export async function listen(app: FastifyInstance, host: string, port: number, what: string, flag: string): Promise<string> {
  try {
    return await app.listen({ host, port });
  } catch (cause) {
    throw new DepescheError('E_CONFIG', `The ${what} cannot listen on ${host}:${port}: ${(cause as Error).message}`, {
      hint: `Pick another port with ${flag}, or stop whatever holds this one.`,
      cause,
    });
  }
}
