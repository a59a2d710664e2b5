import Fastify, { LogController, type FastifyInstance } from 'fastify';
import formbody from '@fastify/formbody';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../../config/schema.ts';
import type { Logger } from '../../log.ts';
import type { DevInbox } from '../../transport/dev-inbox.ts';
import { opsApi, type AdminCampaigns } from './api.ts';
import { adminAuth, assertAdminBind, browserGuards } from './auth.ts';
import type { AdminSessions } from './sessions.ts';
import { subscribersApi } from './subscribers-api.ts';
import type { RedisSubscriberStore } from '../../subscribers/redis-store.ts';
import { isLoopbackHost } from '../shared/hosts.ts';
import { campaignsPage, type IssueChoice } from './campaigns-page.ts';
import { jsonErrors } from '../shared/json-errors.ts';
import { inboxRoutes } from './inbox.ts';
import { html } from '../shared/html.ts';
import { notFoundPages, page, staticAssets } from './layout.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { subscribersPages } from './subscribers-pages.ts';
import { listsPages } from './lists-page.ts';
import { importPages } from './import-page.ts';
import { troubledReaders } from './campaign-readers.ts';

export interface AdminAppDeps {
  config: Pick<Config, 'ADMIN_HOST' | 'ADMIN_TOKEN'>;
  logger?: Logger;
  /** Pinged by /healthz. */
  redis?: Redis;
  /** Shown in /queues and counted in /metrics. */
  queues?: Queue[];
  campaigns?: AdminCampaigns;
  /** The subscriber store's `lists()`. */
  lists?: () => Promise<unknown[]>;
  /** The subscriber store, for the subscriber part of the ops API. */
  subscribers?: RedisSubscriberStore;
  /** Where sign-in sessions live (Redis in `serve` and `dev`); in memory when absent. */
  sessions?: AdminSessions;
  /** Delivery totals over all campaigns for /metrics, e.g. summed campaign counts. */
  deliveries?: () => Promise<Record<string, number>>;
  /** The dev inbox; `depesche dev` only. */
  inbox?: DevInbox;
  /** Pass one to share it with an instrumented transport; otherwise one is made. */
  metrics?: Metrics;
  /** Mounts the editor preview at `/`. Without it `/` links to the other pages. */
  mountPreview?: (app: FastifyInstance) => Promise<void>;
  /** Issues offered by the send form on /campaigns. */
  issues?: () => Promise<IssueChoice[]>;
  /** Default list in the send form. */
  defaultList?: string;
  /** The list the sign-up form joins (DEFAULT_LIST): public by default, never deleted from the console. */
  signupList?: string;
  /** Why real sends are refused (development URLs); the campaigns page says so. */
  sendRefusal?: string[];
  /** The issue's title in each frozen edition of a campaign, for its page's heading. */
  campaignTitles?: (id: string) => Promise<Partial<Record<string, string>>>;
}

/**
 * The admin app: preview, dev inbox, ops API, queue dashboard, health and metrics.
 * Refuses (throws) when it would be bound off loopback without ADMIN_TOKEN; the caller
 * listens on `config.ADMIN_HOST` afterwards.
 */
export async function buildAdminApp(deps: AdminAppDeps): Promise<FastifyInstance> {
  assertAdminBind(deps.config.ADMIN_HOST, deps.config.ADMIN_TOKEN);

  // Typed as the default instance so route modules need not carry pino's logger type.
  const app = Fastify({
    ...(deps.logger ? { loggerInstance: deps.logger } : { logger: false }),
    // Ops actions are worth a line each; the dashboard's polling, live-reload streams,
    // health checks and scrapes would drown them.
    logController: new LogController({
      disableRequestLogging: (request) => !request.url.startsWith('/api/') && !request.url.startsWith('/login'),
    }),
    trustProxy: false,
    // Live-reload and inbox streams never end on their own; closing must not wait for them.
    forceCloseConnections: true,
  }) as unknown as FastifyInstance;
  await app.register(formbody);
  jsonErrors(app);
  browserGuards(app, { loopbackOnly: isLoopbackHost(deps.config.ADMIN_HOST) });
  adminAuth(app, deps.config.ADMIN_TOKEN, deps.sessions);

  const queues = deps.queues ?? [];
  const metrics =
    deps.metrics ??
    createMetrics({
      queues: async () => Promise.all(queues.map(async (q) => ({ queue: q.name, counts: await q.getJobCounts() }))),
      ...(deps.deliveries ? { deliveries: deps.deliveries } : {}),
    });

  app.get('/healthz', async (_request, reply) => {
    if (!deps.redis) return { ok: true };
    try {
      const started = performance.now();
      await deps.redis.ping();
      return { ok: true, redis: { ok: true, ms: Math.round((performance.now() - started) * 10) / 10 } };
    } catch (error) {
      return reply.code(503).send({ ok: false, redis: { ok: false, error: (error as Error).message } });
    }
  });

  app.get('/metrics', async (_request, reply) => {
    const body = await metrics.render();
    return reply.type(metrics.contentType).send(body);
  });

  staticAssets(app);
  notFoundPages(app);
  opsApi(app, { campaigns: deps.campaigns, lists: deps.lists });
  if (deps.subscribers) {
    const subscribers = deps.subscribers;
    subscribersApi(app, () => subscribers);
    // The console's subscriber, list and import pages.
    subscribersPages(app, { store: subscribers });
    listsPages(app, { store: subscribers, defaultList: deps.signupList });
    importPages(app, { store: subscribers });
  }
  campaignsPage(app, { campaigns: deps.campaigns, issues: deps.issues, lists: deps.lists, defaultList: deps.defaultList ?? 'sample', sendRefusal: deps.sendRefusal, titles: deps.campaignTitles, troubled: troubledReaders(deps.subscribers) });
  if (deps.inbox) inboxRoutes(app, deps.inbox);

  const serverAdapter = new FastifyAdapter();
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q)),
    // @bull-board/fastify pins a patch-older @bull-board/api; the adapter contract is the same.
    serverAdapter: serverAdapter as unknown as Parameters<typeof createBullBoard>[0]['serverAdapter'],
    options: {
      uiConfig: {
        boardTitle: 'Depesche queues',
        hideDocsLink: true,
        // Its header menu leads back to the rest of the admin app.
        miscLinks: [
          { text: 'Preview', url: '/' },
          ...(deps.inbox ? [{ text: 'Dev inbox', url: '/inbox' }] : []),
          { text: 'Campaigns', url: '/campaigns' },
          { text: 'Metrics', url: '/metrics' },
        ],
      },
    },
  });
  serverAdapter.setBasePath('/queues');
  await app.register(serverAdapter.registerPlugin(), { prefix: '/queues' });

  // Browsers ask for it on every page; a 404 each time clutters their console and our logs.
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).send());

  if (deps.mountPreview) {
    await deps.mountPreview(app);
  } else {
    app.get('/', async (_request, reply) =>
      reply.type('text/html; charset=utf-8').send(
        page(
          'Admin',
          html`<h1>Depesche admin</h1><ul>
<li><a href="/campaigns">Campaigns</a>: start, schedule, pause, resume, cancel</li>
${deps.subscribers ? html`<li><a href="/subscribers">Subscribers</a>, <a href="/lists">lists</a> and <a href="/import">import</a></li>` : ''}
${deps.inbox ? html`<li><a href="/inbox">Dev inbox</a>: every mail sent in dev</li>` : ''}
<li><a href="/queues">Queues</a>: the BullMQ dashboard</li>
<li><a href="/api">Ops API</a>, <a href="/metrics">metrics</a>, <a href="/healthz">health</a></li></ul>`,
        ),
      ),
    );
  }
  return app;
}
