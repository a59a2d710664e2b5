import { keyspace } from '../../config/index.ts';
import { RedisAdminSessions } from '../../server/admin/sessions.ts';
import { withRedis } from '../redis.ts';

/** `depesche admin logout-all`. */
export function logoutAll(): Promise<void> {
  return withRedis(async (redis, config) => {
    await new RedisAdminSessions(redis, keyspace(config.DEPESCHE_PREFIX)).closeAll();
    process.stdout.write('Every admin session has ended; browsers must sign in again.\n');
  });
}
