// The service alone: the campaign barrel would also load the worker and its SMTP stack.
import { CampaignService } from '../../campaign/service.ts';
import { preflightRedis } from '../../app/preflight.ts';
import { createRedis, keyspace, loadConfig, type Config } from '../../config/index.ts';
import { safeRedisUrl } from '../../config/preflight.ts';
import { DepescheError } from '../../errors.ts';
import { RedisSubscriberStore } from '../../subscribers/redis-store.ts';

const warn = (message: string): void => void process.stderr.write(`warning: ${message}\n`);

/**
 * Opens the campaign service for one command and always closes it, so the process
 * exits. A CLI fails fast on a dead Redis instead of retrying forever, and refuses a
 * Redis that may evict keys.
 */
export async function withCampaigns<T>(fn: (service: CampaignService, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const redis = createRedis(config, { maxRetriesPerRequest: 1, retryStrategy: (times) => (times > 3 ? null : 200) });
  redis.on('error', () => {});
  await redis.ping().catch((cause: unknown) => {
    redis.disconnect();
    throw new DepescheError('E_REDIS', `Cannot reach Redis at ${safeRedisUrl(config.REDIS_URL)}.`, {
      hint: 'Start Redis (docker compose up redis) or set REDIS_URL.',
      cause,
    });
  });
  try {
    await preflightRedis(config, warn, { secret: false, redis });
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  const service = new CampaignService({ config, redis, subscribers: new RedisSubscriberStore(redis, keyspace(config.DEPESCHE_PREFIX)) });
  try {
    return await fn(service, config);
  } finally {
    await service.close();
    redis.disconnect();
  }
}

interface SendOptions {
  list: string;
  at?: string;
  rate?: number;
  dryRun?: boolean;
  again?: boolean;
  rest?: boolean;
  allowDevUrls?: boolean;
}

/** `depesche send` (options in ../registry.ts). */
export function send(slug: string, options: SendOptions): Promise<void> {
  return withCampaigns(async (service) => {
    const result = await service.create({
      slug,
      list: options.list,
      ...(options.at !== undefined ? { at: options.at } : {}),
      ...(options.rate !== undefined ? { rate: options.rate } : {}),
      dryRun: options.dryRun === true,
      again: options.again === true,
      rest: options.rest === true,
      allowDevUrls: options.allowDevUrls === true,
    });
    for (const warning of result.warnings) warn(warning);
    const scheduled = Date.parse(result.at) > Date.now() + 1000;
    if (result.dryRun) {
      const rest = result.rest
        ? `; ${result.rest.reached} of them already reached by ${result.rest.earlier.join(', ')}, so --rest would send to ${result.rest.remaining}`
        : '';
      const when = scheduled ? ` at ${result.when}` : '';
      const reach = result.plan.total === result.total ? `${result.total}` : `${result.plan.total} of ${result.total}`;
      process.stdout.write(`dry run: ${slug} to ${options.list}${when} would reach ${reach} active subscriber(s) (${result.plan.summary})${rest}; nothing was sent.\n`);
      return;
    }
    const when = scheduled ? `scheduled for ${result.when}` : 'queued now';
    process.stderr.write(`${slug} to ${options.list}: ${result.total} active subscriber(s) (${result.plan.summary}), ${when}. Follow it with \`depesche status ${result.id} --follow\`.\n`);
    process.stdout.write(`${result.id}\n`);
  });
}
