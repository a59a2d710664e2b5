import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { loadConfig, createRedis, keyspace, type Config } from '../../config/index.ts';
import { preflightRedis } from '../../app/preflight.ts';
import { DepescheError } from '../../errors.ts';
import { LANGS, type Lang } from '../../core/lang.ts';
import { exportCsv } from '../../subscribers/export.ts';
import { importCsv, openCsv } from '../../subscribers/import.ts';
import { RedisSubscriberStore } from '../../subscribers/redis-store.ts';
import { SUBSCRIBER_STATUSES, type SubscriberStatus } from '../../subscribers/types.ts';
import { checkName, checkStatus, normalizeEmail } from '../../subscribers/validate.ts';
import { action } from '../program.ts';

/**
 * Opens a store for one command and always closes the connection, so the process exits.
 * A CLI must fail fast on a dead Redis instead of retrying forever.
 */
async function withStore<T>(fn: (store: RedisSubscriberStore, config: Config) => Promise<T>): Promise<T> {
  const config = loadConfig();
  const redis = createRedis(config, { maxRetriesPerRequest: 1, retryStrategy: (times) => (times > 3 ? null : 200) });
  redis.on('error', () => {});
  try {
    await redis.ping().catch((cause: unknown) => {
      throw new DepescheError('E_REDIS', `Cannot reach Redis at ${config.REDIS_URL}.`, {
        hint: 'Start Redis (docker compose up redis) or set REDIS_URL.',
        cause,
      });
    });
    // An evicting Redis would drop subscribers (and their unsubscribes) without a word.
    await preflightRedis(config, (message) => process.stderr.write(`warning: ${message}\n`), { secret: false, redis });
    return await fn(new RedisSubscriberStore(redis, keyspace(config.DEPESCHE_PREFIX)), config);
  } finally {
    redis.disconnect();
  }
}

const langOption = (flags: string, description: string) => new Option(flags, description).choices([...LANGS]);
const statusOption = (flags: string, description: string) => new Option(flags, description).choices([...SUBSCRIBER_STATUSES]);

function parseStatuses(value: string): SubscriberStatus[] {
  return value.split(',').map((raw) => {
    const checked = checkStatus(raw);
    if (!checked.ok) throw new DepescheError('E_INPUT', `--status: ${checked.reason}`);
    return checked.value;
  });
}

export function register(program: Command): void {
  const subscribers = program.command('subscribers').description('Manage subscribers and lists in Redis: import, export, add, remove, forget, show, lists.');

  subscribers
    .command('import')
    .description('Import a CSV (header: email, optional name, lang, status) into a list. Streams; safe to re-run.')
    .argument('<file>', 'CSV file with a header line')
    .requiredOption('-l, --list <name>', 'list to add the subscribers to (created if new)')
    .addOption(langOption('--default-lang <lang>', 'language for rows without a lang column value').default('de'))
    .addOption(statusOption('--status <status>', 'status of new subscribers whose row has none (consent obtained elsewhere: active)').default('active'))
    .option('--report <file>', 'where to write rejected rows (default: <file>.rejected.csv, only when some are rejected)')
    .action(
      action(async (file: string, options: { list: string; defaultLang: Lang; status: SubscriberStatus; report?: string }) =>
        withStore(async (store) => {
          const { stream, size, source } = await openCsv(file);
          const reportPath = options.report ?? `${file}.rejected.csv`;
          const report = createWriteStream(reportPath);
          const bar = process.stderr.isTTY
            ? new cliProgress.SingleBar(
                { stream: process.stderr, format: 'importing [{bar}] {percentage}% | {rows} rows | {eta_formatted} left', hideCursor: true },
                cliProgress.Presets.shades_classic,
              )
            : undefined;
          bar?.start(size, 0, { rows: 0 });
          let summary;
          try {
            summary = await importCsv(stream, {
              store,
              list: options.list,
              defaultLang: options.defaultLang,
              defaultStatus: options.status,
              source,
              report,
              onProgress: ({ bytes, rows }) => bar?.update(bytes, { rows }),
            });
          } catch (error) {
            report.end();
            if (!options.report) await rm(reportPath, { force: true });
            throw error;
          } finally {
            bar?.stop();
          }
          if (summary.rejected === 0 && !options.report) await rm(reportPath, { force: true });
          const lines = [
            `Imported ${file} into list "${options.list}": ${summary.rows} rows read.`,
            `  created ${summary.created}, updated ${summary.updated}, unchanged ${summary.unchanged}, added to the list ${summary.created + summary.joined}`,
            summary.rejected > 0
              ? `  rejected ${summary.rejected}: see ${reportPath} (spreadsheet row and reason per line)`
              : '  rejected 0',
          ];
          process.stdout.write(`${lines.join('\n')}\n`);
        }),
      ),
    );

  subscribers
    .command('export')
    .description('Write a list as CSV (email, name, lang, status) in join order; imports back unchanged.')
    .requiredOption('-l, --list <name>', 'list to export')
    .option('-o, --out <file>', 'write to this file instead of stdout')
    .option('--status <statuses>', `only these statuses, comma-separated (${SUBSCRIBER_STATUSES.join(', ')})`, parseStatuses)
    .action(
      action(async (options: { list: string; out?: string; status?: SubscriberStatus[] }) =>
        withStore(async (store) => {
          const output = options.out ? createWriteStream(options.out) : process.stdout;
          const count = await exportCsv(store, options.list, output, { end: Boolean(options.out), ...(options.status ? { statuses: options.status } : {}) });
          process.stderr.write(`Exported ${count} subscribers from "${options.list}"${options.out ? ` to ${options.out}` : ''}.\n`);
        }),
      ),
    );

  subscribers
    .command('add')
    .description('Add one subscriber to a list, or update their name and language.')
    .argument('<email>', 'address')
    .requiredOption('-l, --list <name>', 'list to add them to (created if new)')
    .option('--name <name>', 'name used in greetings')
    .addOption(langOption('--lang <lang>', 'language of the issues they receive (new subscribers default to de)'))
    .addOption(statusOption('--status <status>', 'status of a new subscriber').default('active'))
    .action(
      action(async (email: string, options: { list: string; name?: string; lang?: Lang; status: SubscriberStatus }) =>
        withStore(async (store) => {
          const checkedEmail = normalizeEmail(email);
          if (!checkedEmail.ok) throw new DepescheError('E_INPUT', checkedEmail.reason);
          const name = checkName(options.name);
          if (!name.ok) throw new DepescheError('E_INPUT', `--name: ${name.reason}`);
          const result = await store.upsert(
            { email: checkedEmail.value, name: name.value, status: options.status, source: 'cli', ...(options.lang ? { lang: options.lang } : {}) },
            options.list,
          );
          const s = result.subscriber;
          process.stdout.write(`${s.email} (id ${s.id}, ${s.lang}, ${s.status}): ${result.outcome}${result.joined ? `, added to "${options.list}"` : `, already on "${options.list}"`}\n`);
        }),
      ),
    );

  subscribers
    .command('remove')
    .description('Take a subscriber off a list. Keeps their record; --unsubscribe also stops every send to them.')
    .argument('<email>', 'address')
    .requiredOption('-l, --list <name>', 'list to remove them from')
    .option('--unsubscribe', 'also mark them unsubscribed, so no list sends to them and re-imports do not bring them back')
    .action(
      action(async (email: string, options: { list: string; unsubscribe?: boolean }) =>
        withStore(async (store) => {
          const subscriber = await store.findByEmail(email);
          if (!subscriber) throw new DepescheError('E_NOT_FOUND', `No subscriber with the address ${email}.`);
          const removed = await store.removeFromList(subscriber.id, options.list);
          if (options.unsubscribe) await store.unsubscribe(subscriber.id, 'cli');
          process.stdout.write(
            `${subscriber.email}: ${removed ? `removed from "${options.list}"` : `was not on "${options.list}"`}${options.unsubscribe ? ', unsubscribed' : ''}\n`,
          );
          return removed || options.unsubscribe ? 0 : 1;
        }),
      ),
    );

  subscribers
    .command('forget')
    .description('Erase a subscriber on request: record, consent log and list memberships. A later import can add them again.')
    .argument('<email>', 'address')
    .requiredOption('--yes', 'confirm the erasure; it cannot be undone')
    .action(
      action(async (email: string) =>
        withStore(async (store) => {
          const subscriber = await store.findByEmail(email);
          if (!subscriber) throw new DepescheError('E_NOT_FOUND', `No subscriber with the address ${email}.`);
          await store.forget(subscriber.id);
          process.stdout.write(`${subscriber.email}: erased (was on ${subscriber.lists.length ? subscriber.lists.join(', ') : 'no list'})\n`);
        }),
      ),
    );

  subscribers
    .command('show')
    .description('Show one subscriber with their lists, consent record and consent log, as JSON.')
    .argument('<email>', 'address')
    .action(
      action(async (email: string) =>
        withStore(async (store) => {
          const subscriber = await store.findByEmail(email);
          if (!subscriber) throw new DepescheError('E_NOT_FOUND', `No subscriber with the address ${email}.`);
          const log = await store.consentLog(subscriber.id);
          process.stdout.write(`${JSON.stringify({ ...subscriber, log }, null, 2)}\n`);
        }),
      ),
    );

  subscribers
    .command('lists')
    .description('Show every list with its members counted by status and language.')
    .option('--json', 'print JSON instead of a table')
    .action(
      action(async (options: { json?: boolean }) =>
        withStore(async (store) => {
          const lists = await store.lists();
          if (options.json) {
            process.stdout.write(`${JSON.stringify(lists, null, 2)}\n`);
            return;
          }
          if (lists.length === 0) {
            process.stdout.write('No lists yet. Import one with `depesche subscribers import <file.csv> --list <name>`.\n');
            return;
          }
          const header = ['list', 'total', ...SUBSCRIBER_STATUSES, ...LANGS.map((l) => `active ${l}`)];
          const rows = lists.map((l) => [l.name, l.total, ...SUBSCRIBER_STATUSES.map((s) => l.byStatus[s]), ...LANGS.map((lang) => l.activeByLang[lang])].map(String));
          const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
          const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
          process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
        }),
      ),
    );
}
