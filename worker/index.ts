// The campaign worker process: `npx node worker/index.ts` or `depesche worker`.
// Wiring only: config, the Redis subscriber store, pooled SMTP, and the campaign worker.
import { startWorker } from '../src/campaign/worker.ts';
import { createRedis, keyspace, loadConfig, type Config } from '../src/config/index.ts';
import { loggerFromConfig } from '../src/log.ts';
import { RedisSubscriberStore } from '../src/subscribers/redis-store.ts';

/**
 * Runs a worker until SIGTERM or SIGINT, then finishes the messages in flight, leaves
 * the rest queued for other workers (or the next start), and resolves.
 */
export async function runWorkerProcess(config: Config = loadConfig()): Promise<void> {
  const log = loggerFromConfig(config, 'worker');
  const redis = createRedis(config, { maxRetriesPerRequest: null });
  redis.on('error', (error) => log.warn({ err: error.message }, 'redis'));
  const worker = await startWorker({
    config,
    subscribers: new RedisSubscriberStore(redis, keyspace(config.DEPESCHE_PREFIX)),
    log: (level, message) => log[level](message),
  });
  log.info({ concurrency: config.WORKER_CONCURRENCY, pool: config.SMTP_POOL_SIZE, rate: config.SEND_RATE }, 'worker ready');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping: finishing messages in flight');
      resolve();
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  await worker.close();
  redis.disconnect();
}

if (import.meta.main) {
  await runWorkerProcess();
}
