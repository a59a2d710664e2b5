import type { Command } from 'commander';
import { keyspace } from '../../config/index.ts';
import { RedisAdminSessions } from '../../server/admin/sessions.ts';
import { action } from '../program.ts';
import { withRedis } from '../redis.ts';

export function register(program: Command): void {
  const admin = program.command('admin').description('Admin app housekeeping: sign-in sessions.');

  admin
    .command('logout-all')
    .description('End every admin sign-in session, in every app process. Scripts with the Bearer token are not affected; rotate ADMIN_TOKEN for that.')
    .action(
      action(() =>
        withRedis(async (redis, config) => {
          await new RedisAdminSessions(redis, keyspace(config.DEPESCHE_PREFIX)).closeAll();
          process.stdout.write('Every admin session has ended; browsers must sign in again.\n');
        }),
      ),
    );
}
