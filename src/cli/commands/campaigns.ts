import { pruneLedgers } from '../../campaign/retention.ts';
import { keyspace } from '../../config/index.ts';
import { withRedis } from '../redis.ts';

/** `depesche campaigns prune [--dry-run] [--older-than <days>] [--json]`; see ../registry.ts. */
export async function prune(options: { dryRun?: boolean; olderThan?: number; json?: boolean } = {}): Promise<void> {
  await withRedis(async (redis, config) => {
    const days = options.olderThan ?? config.LEDGER_RETENTION_DAYS;
    const found = await pruneLedgers(redis, keyspace(config.DEPESCHE_PREFIX), { retentionDays: days, dryRun: options.dryRun === true });
    if (options.json) {
      process.stdout.write(`${JSON.stringify({ dryRun: options.dryRun === true, olderThanDays: days, campaigns: found })}\n`);
      return;
    }
    const verb = options.dryRun ? 'would prune' : 'pruned';
    for (const c of found) {
      const what = options.dryRun ? `${c.entries} ledger entries` : `${c.dropped} of ${c.entries} ledger entries dropped`;
      process.stdout.write(`${verb} ${c.id}  ${c.slug} → ${c.list}  ${c.state} ${new Date(c.finishedAt).toISOString().slice(0, 10)}  ${what}\n`);
    }
    process.stdout.write(
      found.length === 0
        ? `No campaign ended more than ${days} days ago with its whole ledger.\n`
        : `${found.length} campaign(s) ${verb}; counts, bounced, failed and unclear readers and editions stay.${options.dryRun ? ' Run without --dry-run to prune.' : ''}\n`,
    );
  });
}
