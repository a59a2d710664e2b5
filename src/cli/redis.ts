import type { Redis } from 'ioredis';
import { createRedis, loadConfig, type Config } from '../config/index.ts';
import { preflight, safeRedisUrl } from '../config/preflight.ts';
import { DepescheError } from '../errors.ts';

/**
 * One Redis connection for one command, always closed so the process exits. A CLI fails
 * fast on a dead Redis, within a second or two, instead of retrying for ever, and refuses
 * a Redis that may evict keys: it would drop subscribers and their unsubscribes silently.
 */
export async function withRedis<T>(fn: (redis: Redis, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const redis = createRedis(config, { maxRetriesPerRequest: 1, retryStrategy: (times) => (times > 3 ? null : 200) });
  redis.on('error', () => {});
  try {
    await redis.ping().catch((cause: unknown) => {
      throw new DepescheError('E_REDIS', `Cannot reach Redis at ${safeRedisUrl(config.REDIS_URL)}.`, {
        hint: 'Start Redis (docker compose up redis) or set REDIS_URL.',
        cause,
      });
    });
    await preflight(redis, config, { secret: false, warn: (message) => process.stderr.write(`warning: ${message}\n`) });
    return await fn(redis, config);
  } finally {
    redis.disconnect();
  }
}
