import type { Command } from 'commander';
import { createRedis, keyspace, loadConfig } from '../../config/index.ts';
import { DepescheError } from '../../errors.ts';
import { RedisAdminSessions } from '../../server/admin/sessions.ts';
import { action } from '../program.ts';

export function register(program: Command): void {
  const admin = program.command('admin').description('Admin app housekeeping: sign-in sessions.');

  admin
    .command('logout-all')
    .description('End every admin sign-in session, in every app process. Scripts with the Bearer token are not affected; rotate ADMIN_TOKEN for that.')
    .action(
      action(async () => {
        const config = loadConfig();
        const redis = createRedis(config, { maxRetriesPerRequest: 1, retryStrategy: (times) => (times > 3 ? null : 200) });
        redis.on('error', () => {});
        try {
          await redis.ping().catch((cause: unknown) => {
            throw new DepescheError('E_REDIS', `Cannot reach Redis at ${config.REDIS_URL}.`, { hint: 'Start Redis or set REDIS_URL.', cause });
          });
          await new RedisAdminSessions(redis, keyspace(config.DEPESCHE_PREFIX)).closeAll();
          process.stdout.write('Every admin session has ended; browsers must sign in again.\n');
        } finally {
          redis.disconnect();
        }
      }),
    );
}
