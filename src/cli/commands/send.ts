import type { Command } from 'commander';
import { CampaignService } from '../../campaign/index.ts';
import { preflightRedis } from '../../app/preflight.ts';
import { createRedis, keyspace, loadConfig, type Config } from '../../config/index.ts';
import { safeRedisUrl } from '../../config/preflight.ts';
import { DepescheError } from '../../errors.ts';
import { LANGS } from '../../core/lang.ts';
import { RedisSubscriberStore } from '../../subscribers/redis-store.ts';
import { action, intOption } from '../program.ts';

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

export function register(program: Command): void {
  program
    .command('send')
    .description(
      'Claim the issue for the list, compile each language once, lint those editions, freeze them into a campaign and queue it for the workers. ' +
        'Prints the campaign id. Refused while another campaign of the issue to the list is live, or once one reached it (see --again, --rest).',
    )
    .argument('<slug>', 'issue folder name under issues/')
    .requiredOption('-l, --list <name>', 'subscriber list to send to')
    .option('--at <time>', 'schedule it: 2026-11-27T07:00+01:00, 2026-11-27T07:00 Europe/Berlin, or a local time read in TZ (said so)')
    .option('--rate <msgs/s>', 'messages per second for this campaign (SEND_RATE still caps all campaigns together)', intOption('--rate'))
    .option('--dry-run', 'only report how many subscribers would get which language (and, with --rest, how many are left)')
    .option('--again', 'send to everyone on the list once more, although an earlier campaign of this issue reached it')
    .option('--rest', 'send only to readers no earlier campaign of this issue reached (sent, bounced or unclear), e.g. after a cancel')
    .option('--allow-dev-urls', 'send although PUBLIC_URL points at this machine or MAIL_FROM is at localhost (a test send)')
    .action(
      action(async (slug: string, options: SendOptions) =>
        withCampaigns(async (service) => {
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
            const perLang = LANGS.map((lang) => `${lang}: ${result.counts[lang]}`).join(', ');
            const rest = result.rest
              ? `; ${result.rest.reached} of them already reached by ${result.rest.earlier.join(', ')}, so --rest would send to ${result.rest.remaining}`
              : '';
            const when = scheduled ? ` at ${result.when}` : '';
            process.stdout.write(`dry run: ${slug} to ${options.list}${when} would reach ${result.total} active subscriber(s) (${perLang})${rest}; nothing was sent.\n`);
            return;
          }
          const when = scheduled ? `scheduled for ${result.when}` : 'queued now';
          process.stderr.write(`${slug} to ${options.list}: ${result.total} active subscriber(s), ${when}. Follow it with \`depesche status ${result.id} --follow\`.\n`);
          process.stdout.write(`${result.id}\n`);
        }),
      ),
    );
}
