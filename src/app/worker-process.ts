// The campaign worker process, as `depesche worker` and `worker/index.ts` run it.
// Wiring only: config, start-up checks, the Redis subscriber store, pooled SMTP, the
// campaign worker, the guard against unhandled rejections, and a bounded shutdown.
import { failCurrentBatch } from '../campaign/batch.ts';
import { startWorker } from '../campaign/worker.ts';
import { createRedis, keyspace, loadConfig, requireSecret, type Config } from '../config/index.ts';
import { loggerFromConfig } from '../log.ts';
import { RedisSubscriberStore } from '../subscribers/redis-store.ts';
import { createCampaignTransport } from '../transport/campaign-transport.ts';
import { createSmtpLatencyRecorder } from '../transport/smtp-latency.ts';
import { preflightRedis } from './preflight.ts';
import { guardRejections } from './rejection-guard.ts';

const HEAP_FLAG = '--max-old-space-size';
const YOUNG_FLAG = '--max-semi-space-size';

/**
 * Heap settings of a worker, measured with `npm run bench -- send` (BENCH_SEND_WORKERS,
 * 5,000–6,000 readers, interleaved, on a loaded 2-core machine):
 *
 *   Node's defaults                        ~850 µs CPU/message   265–273 MB peak RSS
 *   8 MB semi-spaces only                  ~740 µs               206–216 MB   (the default)
 *   8 MB semi-spaces + old-space cap 96    ~900 µs               150–163 MB
 *     (caps of 192 and 256 MB cost the same as 96)
 *
 * A small young generation keeps the send's short-lived garbage cheap. Any old-space cap
 * up to 256 MB puts V8 into its small-heap mode: about 47 full collections per 5,000
 * messages instead of 8–25, about a fifth more CPU per message. What RSS the cap saves is
 * garbage waiting for a full collection (mostly message buffers), so the cap is there for
 * hosts that must bound memory (WORKER_HEAP_MB), not the default. Node cannot change these
 * once running, so the worker replaces itself (same process id, via execve) with one that
 * has the flags, unless heap flags were given already (execArgv or NODE_OPTIONS).
 */
export function execWithHeapCap(config: Config): void {
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((arg) => arg.includes(HEAP_FLAG) || arg.includes(YOUNG_FLAG));
  if (given || typeof process.execve !== 'function') return;
  const flags = [`${YOUNG_FLAG}=8`, ...(config.WORKER_HEAP_MB > 0 ? [`${HEAP_FLAG}=${config.WORKER_HEAP_MB}`] : [])];
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], process.env);
}

/**
 * Runs a worker until SIGTERM or SIGINT, then finishes the messages in flight, leaves
 * the rest queued for other workers (or the next start), and resolves with the exit code:
 * 0, or 1 when Redis did not answer within SHUTDOWN_TIMEOUT_MS and answers went unrecorded.
 */
export async function runWorkerProcess(config: Config = loadConfig()): Promise<number> {
  // Refuse before connecting anything: the fix is a setting, not a retry.
  requireSecret(config);
  const log = loggerFromConfig(config, 'worker');
  const redis = createRedis(config, { maxRetriesPerRequest: null });
  redis.on('error', (error) => log.warn({ err: error.message }, 'redis'));
  try {
    await preflightRedis(config, (message) => log.warn(message), { secret: true, redis });
  } catch (error) {
    redis.disconnect();
    throw error;
  }

  guardRejections((fields, message) => log.error(fields, message), failCurrentBatch);

  const keys = keyspace(config.DEPESCHE_PREFIX);
  // Every worker feeds the same SMTP latency histogram in Redis, which /metrics serves.
  const latency = createSmtpLatencyRecorder(redis, keys);
  const worker = await startWorker({
    config,
    subscribers: new RedisSubscriberStore(redis, keys),
    transport: latency.instrument(createCampaignTransport(config)),
    log: (level, message, fields) => log[level](fields ?? {}, message),
  });
  log.info({ concurrency: config.WORKER_CONCURRENCY, pool: config.SMTP_POOL_SIZE, rate: config.SEND_RATE }, 'worker ready');
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  log.info({ signal, timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'stopping: finishing messages in flight');
  const closed = await worker.close(config.SHUTDOWN_TIMEOUT_MS);
  if (closed.clean) await latency.close();
  redis.disconnect();
  log.flush();
  return closed.clean ? 0 : 1;
}
