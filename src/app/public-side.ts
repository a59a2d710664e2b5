// Wiring of the public app: its own Redis connection that fails fast, the subscriber store
// and domain, the unsubscribe spool, the confirmation mailer and the archive adapter.
import { once } from 'node:events';
import { resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import { createRedis, keyspace } from '../config/redis.ts';
import type { Config } from '../config/schema.ts';
import { requireSecret } from '../config/load.ts';
import { previousSecrets } from '../config/preflight.ts';
import { publicUrls } from '../core/public-urls.ts';
import type { Lang } from '../core/lang.ts';
import type { Translator } from '../i18n/index.ts';
import type { Logger } from '../log.ts';
import { buildPublicApp, siteName } from '../server/public/app.ts';
import { confirmationMailer } from '../server/public/confirm-mail.ts';
import { wording } from '../subscribers/consent.ts';
import { RedisSubscriberStore } from '../subscribers/redis-store.ts';
import { Subscriptions, type SubscriptionSettings } from '../subscribers/subscriptions.ts';
import { UnsubscribeSpool } from '../subscribers/unsubscribe-spool.ts';
import type { Transport } from '../transport/types.ts';
import { campaignArchive } from './archive-source.ts';
import { returnPathOver } from '../inbound/redis-sink.ts';
import { inboundWebhooks, webhookOptionsFromConfig } from '../inbound/webhooks/plugin.ts';
import { RedisSeenTokens } from '../inbound/webhooks/seen-tokens.ts';
import { ReturnAddresses, returnAddressSettings } from '../inbound/return-addresses.ts';
import type { Keyspace } from '../config/redis.ts';

export interface PublicSideOptions {
  config: Config;
  translator: Translator;
  /** Sends the confirmation mails. */
  transport: Transport;
  logger?: Logger;
  /** Overrides for tests: a shorter resend window, faster mail retries. */
  settings?: Partial<SubscriptionSettings>;
  /** How often a waiting spool is tried while Redis is up. @defaultValue 15_000 */
  spoolRetryMs?: number;
  /** How long the archive's list of editions is kept in memory. @defaultValue 60_000 */
  archiveCacheMs?: number;
}

export interface PublicSide {
  app: FastifyInstance;
  subscriptions: Subscriptions;
  store: RedisSubscriberStore;
  spool: UnsubscribeSpool;
  /** The public app's own connection. */
  redis: Redis;
  close(): Promise<void>;
}

/**
 * The public app over its own Redis connection. That connection has no offline queue and a
 * command timeout, so while Redis is unreachable every command fails at once instead of
 * waiting: the app answers 503 with Retry-After within moments, and unsubscribes go to the
 * spool. When the connection is ready again (and every `spoolRetryMs` while anything waits),
 * the spool is applied.
 */
export async function buildPublicSide(options: PublicSideOptions): Promise<PublicSide> {
  const { config, translator: t } = options;
  const secret = requireSecret(config);
  const log = options.logger?.child({ app: 'public' });
  const redis = createRedis(config, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 1_000,
    commandTimeout: 1_500,
    retryStrategy: (times) => Math.min(times * 200, 2_000),
  });
  redis.on('error', (error) => log?.debug({ err: error.message }, 'public app: redis connection error'));
  const keys = keyspace(config.DEPESCHE_PREFIX);
  const store = new RedisSubscriberStore(redis, keys);
  const spool = new UnsubscribeSpool(resolve(config.SPOOL_DIR));
  const archive = campaignArchive(redis, keys, options.archiveCacheMs === undefined ? {} : { cacheMs: options.archiveCacheMs });
  const site = siteName(config.MAIL_FROM, t);
  const wordingFor = (lang: Lang) => wording(t.t(lang, 'public.consent.version'), lang, t.t(lang, 'public.consent.text'));
  const available = () => redis.status === 'ready';
  const subscriptions = new Subscriptions({
    store,
    secret,
    previousSecrets: previousSecrets(config),
    urls: publicUrls(config.PUBLIC_URL),
    mailer: confirmationMailer(t, options.transport, { from: config.MAIL_FROM, site }),
    spool,
    wording: wordingFor,
    origins: archive,
    settings: { defaultList: config.DEFAULT_LIST, confirmTtlDays: config.CONFIRM_TTL_DAYS, ...options.settings },
    available,
    ...(log ? { log: (level, details, message) => log[level](details, message) } : {}),
  });

  const drain = async () => {
    if (!available() || !(await spool.pending())) return;
    try {
      const result = await subscriptions.drainSpool();
      if (result.applied + result.dropped + result.kept > 0) log?.info(result, 'unsubscribe spool applied');
    } catch (error) {
      log?.warn({ err: (error as Error).message }, 'unsubscribe spool: will try again');
    }
  };
  redis.on('ready', () => void drain());
  const timer = setInterval(() => void drain(), options.spoolRetryMs ?? 15_000);
  timer.unref();

  // Give the first connection a moment, so a healthy start answers from its first request.
  if (redis.status !== 'ready') await Promise.race([once(redis, 'ready').catch(() => {}), new Promise((r) => setTimeout(r, 2_000).unref())]);

  const app = await buildPublicApp({
    config,
    subscriptions,
    archive,
    translator: t,
    wording: wordingFor,
    redis,
    keys,
    available,
    ping: () => redis.ping(),
    site,
    ...(log ? { logger: log } : {}),
  });
  await mountWebhooks(app, config, redis, keys, secret, log);
  return {
    app,
    subscriptions,
    store,
    spool,
    redis,
    async close() {
      clearInterval(timer);
      await app.close();
      // Mails already promised go out, within reason.
      await Promise.race([subscriptions.idle(), new Promise((r) => setTimeout(r, 5_000).unref())]);
      redis.disconnect();
    },
  };
}

/**
 * The provider webhooks (SES, Postmark, Mailgun), each only when its settings are there,
 * applied to the subscriber store and the ledger over the public app's connection: when
 * Redis is down that fails at once, the webhook answers 503, and the provider retries.
 */
async function mountWebhooks(app: FastifyInstance, config: Config, redis: Redis, keys: Keyspace, secret: string, log: Logger | undefined): Promise<void> {
  const { sink, resolveMessageId } = returnPathOver(redis, keys, config);
  const addresses = new ReturnAddresses(returnAddressSettings(config, [secret, ...previousSecrets(config)]));
  const options = webhookOptionsFromConfig(config, { sink, addresses, resolveMessageId, seen: new RedisSeenTokens(redis, keys) });
  if (!options.ses && !options.postmark && !options.mailgun) return;
  await app.register(inboundWebhooks({ ...options, ...(log ? { logger: log } : {}) }));
}
