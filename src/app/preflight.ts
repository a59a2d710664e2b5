// The start-up checks (src/config/preflight.ts) as each process runs them, over its own
// Redis connection or a short-lived one.
import type { Redis } from 'ioredis';
import { preflight, safeRedisUrl } from '../config/preflight.ts';
import { createRedis } from '../config/redis.ts';
import type { Config } from '../config/schema.ts';
import { DepescheError } from '../errors.ts';

export interface PreflightRedisOptions {
  /** Also check DEPESCHE_SECRET against the installation's fingerprint. */
  secret: boolean;
  /** A connection to use; without one a short-lived connection that fails fast is opened. */
  redis?: Redis;
}

/** Refuses (throws) an evicting Redis or a foreign secret; warns through `warn` (e.g. AOF off). */
export async function preflightRedis(config: Config, warn: (message: string) => void, options: PreflightRedisOptions): Promise<void> {
  if (options.redis) return preflight(options.redis, config, { secret: options.secret, warn });
  const redis = createRedis(config, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: (times) => (times > 3 ? null : 200) });
  redis.on('error', () => {});
  try {
    await redis.connect().catch((cause: unknown) => {
      throw new DepescheError('E_REDIS', `Cannot reach Redis at ${safeRedisUrl(config.REDIS_URL)}.`, {
        hint: 'Start Redis (docker compose up redis) or set REDIS_URL.',
        cause,
      });
    });
    await preflight(redis, config, { secret: options.secret, warn });
  } finally {
    redis.disconnect();
  }
}
