import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { Argument, Option, type Command } from 'commander';
import cliProgress from 'cli-progress';
import { keyspace, type Config } from '../../config/index.ts';
import { DepescheError } from '../../errors.ts';
import { LANGS, type Lang } from '../../core/lang.ts';
import { exportCsv } from '../../subscribers/export.ts';
import { importCsv, openCsv } from '../../subscribers/import.ts';
import type { Actor } from '../../subscribers/consent.ts';
import { RedisSubscriberStore } from '../../subscribers/redis-store.ts';
import { findSubscriber, subscriberReport } from '../../subscribers/report.ts';
import { SUBSCRIBER_STATUSES, type SubscriberStatus } from '../../subscribers/types.ts';
import { checkName, checkStatus, normalizeEmail } from '../../subscribers/validate.ts';
import { action } from '../program.ts';
import { withRedis } from '../redis.ts';

/** A store for one command, over {@link withRedis}. */
function withStore<T>(fn: (store: RedisSubscriberStore, config: Config) => Promise<T>): Promise<T> {
  return withRedis((redis, config) => fn(new RedisSubscriberStore(redis, keyspace(config.DEPESCHE_PREFIX)), config));
}

const langOption = (flags: string, description: string) => new Option(flags, description).choices([...LANGS]);
const statusOption = (flags: string, description: string) => new Option(flags, description).choices([...SUBSCRIBER_STATUSES]);

/** Who ran an ops command, for the consent log: `cli:<login>`, or `--by`. */
function actor(options: { by?: string; reason?: string }): Actor {
  let login = 'unknown';
  try {
    login = userInfo().username;
  } catch {
    // no passwd entry (some containers)
  }
  const reason = options.reason?.trim();
  if (!reason) throw new DepescheError('E_INPUT', 'Say why with --reason "…": it goes into the consent log with who did it.');
  return { by: `cli:${options.by?.trim() || login}`, reason };
}

const reasonOption = () => new Option('--reason <text>', 'why (logged with who made the change)');
const byOption = () => new Option('--by <name>', 'who, if not the login name');

function parseStatuses(value: string): SubscriberStatus[] {
  return value.split(',').map((raw) => {
    const checked = checkStatus(raw);
    if (!checked.ok) throw new DepescheError('E_INPUT', `--status: ${checked.reason}`);
    return checked.value;
  });
}

export function register(program: Command): void {
  const subscribers = program
    .command('subscribers')
    .description('Manage subscribers and lists in Redis: import, export, add, remove, forget, show, reactivate, set-lang, visibility, lists.');

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
            ...(summary.keptOff > 0 ? [`  not put back on the list: ${summary.keptOff} (they left it; only they can rejoin)`] : []),
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
    .description('Add one subscriber to a list, or update their name and language. Never lifts an unsubscribe or puts back someone who left the list.')
    .argument('<email>', 'address')
    .requiredOption('-l, --list <name>', 'list to add them to (created if new, private until made public)')
    .option('--name <name>', 'name used in greetings')
    .addOption(langOption('--lang <lang>', 'language of the issues they receive (new subscribers default to de)'))
    .addOption(statusOption('--status <status>', 'status of a new subscriber').default('active'))
    .option('--rejoin', 'put them back on the list although they left it (only when they asked you to); needs --reason')
    .addOption(reasonOption())
    .addOption(byOption())
    .action(
      action(async (email: string, options: { list: string; name?: string; lang?: Lang; status: SubscriberStatus; rejoin?: boolean; reason?: string; by?: string }) =>
        withStore(async (store) => {
          const checkedEmail = normalizeEmail(email);
          if (!checkedEmail.ok) throw new DepescheError('E_INPUT', checkedEmail.reason);
          const name = checkName(options.name);
          if (!name.ok) throw new DepescheError('E_INPUT', `--name: ${name.reason}`);
          const who = options.rejoin ? actor(options) : undefined;
          const result = await store.upsert(
            { email: checkedEmail.value, name: name.value, status: options.status, source: 'cli', ...(options.lang ? { lang: options.lang } : {}), ...(who ? { rejoin: true } : {}) },
            options.list,
          );
          const s = result.subscriber;
          const membership = result.joined ? `added to "${options.list}"` : result.keptOff ? `not added: they left "${options.list}" on ${s.left[options.list]} (--rejoin --reason … if they asked to come back)` : `already on "${options.list}"`;
          process.stdout.write(`${s.email} (id ${s.id}, ${s.lang}, ${s.status}): ${result.outcome}, ${membership}\n`);
          return result.keptOff ? 1 : 0;
        }),
      ),
    );

  subscribers
    .command('remove')
    .description('Take a subscriber off a list (remembered: imports do not put them back). --unsubscribe also stops every send to them.')
    .argument('<email>', 'address')
    .requiredOption('-l, --list <name>', 'list to remove them from')
    .option('--unsubscribe', 'also mark them unsubscribed, so no list sends to them and re-imports do not bring them back')
    .addOption(reasonOption().default('removed by ops'))
    .addOption(byOption())
    .action(
      action(async (email: string, options: { list: string; unsubscribe?: boolean; reason?: string; by?: string }) =>
        withStore(async (store) => {
          const subscriber = await findSubscriber(store, email);
          const who = actor(options);
          const removed = await store.removeFromList(subscriber.id, options.list, who);
          if (options.unsubscribe) await store.unsubscribe(subscriber.id, 'cli', { actor: who });
          process.stdout.write(
            `${subscriber.email}: ${removed ? `removed from "${options.list}"` : `was not on "${options.list}"`}${options.unsubscribe ? ', unsubscribed' : ''}\n`,
          );
          return removed || options.unsubscribe ? 0 : 1;
        }),
      ),
    );

  subscribers
    .command('forget')
    .description('Erase a subscriber on request (GDPR Art. 17): record, consent log and list memberships. The ops log keeps that it happened, by whom and why.')
    .argument('<email>', 'address')
    .requiredOption('--yes', 'confirm the erasure; it cannot be undone')
    .addOption(reasonOption().makeOptionMandatory())
    .addOption(byOption())
    .action(
      action(async (email: string, options: { reason?: string; by?: string }) =>
        withStore(async (store) => {
          const subscriber = await findSubscriber(store, email);
          await store.forget(subscriber.id, actor(options));
          process.stdout.write(`${subscriber.email}: erased (was on ${subscriber.lists.length ? subscriber.lists.join(', ') : 'no list'})\n`);
        }),
      ),
    );

  subscribers
    .command('show')
    .description('Show one subscriber as JSON: status, name, lang, lists, consent in force; --consent adds the whole consent history (an Art. 15 answer).')
    .argument('<email>', 'address (or subscriber id)')
    .option('--consent', 'include every consent-log event, each consent record with the exact wording shown')
    .action(
      action(async (email: string, options: { consent?: boolean }) =>
        withStore(async (store) => {
          const report = await subscriberReport(store, await findSubscriber(store, email), { history: Boolean(options.consent) });
          process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
        }),
      ),
    );

  subscribers
    .command('reactivate')
    .description('Move a bounced subscriber back to active (logged with who and why). Unsubscribes and complaints are never reactivated: only the reader can sign up again.')
    .argument('<email>', 'address')
    .addOption(reasonOption().makeOptionMandatory())
    .addOption(byOption())
    .action(
      action(async (email: string, options: { reason?: string; by?: string }) =>
        withStore(async (store) => {
          const subscriber = await findSubscriber(store, email);
          await store.reactivate(subscriber.id, actor(options));
          process.stdout.write(`${subscriber.email}: ${subscriber.status} → active\n`);
        }),
      ),
    );

  subscribers
    .command('set-lang')
    .description('Change the language a subscriber receives (logged with who and why).')
    .argument('<email>', 'address')
    .addArgument(new Argument('<lang>', 'de or en').choices([...LANGS]))
    .addOption(reasonOption().makeOptionMandatory())
    .addOption(byOption())
    .action(
      action(async (email: string, lang: Lang, options: { reason?: string; by?: string }) =>
        withStore(async (store) => {
          const subscriber = await findSubscriber(store, email);
          const result = await store.setLang(subscriber.id, lang, { via: 'ops', actor: actor(options) });
          process.stdout.write(`${subscriber.email}: ${result === 'unchanged' ? `already ${lang}` : `${subscriber.lang} → ${lang}`}\n`);
        }),
      ),
    );

  subscribers
    .command('visibility')
    .description('Make a list public (the sign-up form may name it, the preference centre shows it) or private.')
    .argument('<list>', 'list name')
    .addArgument(new Argument('<visibility>', 'public or private').choices(['public', 'private']))
    .addOption(reasonOption().default('set by ops'))
    .addOption(byOption())
    .action(
      action(async (list: string, visibility: 'public' | 'private', options: { reason?: string; by?: string }) =>
        withStore(async (store) => {
          await store.setVisibility(list, visibility, actor(options));
          process.stdout.write(`list "${list}" is ${visibility}\n`);
        }),
      ),
    );

  subscribers
    .command('lists')
    .description('Show every list with its members counted by status and language.')
    .option('--json', 'print JSON instead of a table')
    .action(
      action(async (options: { json?: boolean }) =>
        withStore(async (store, config) => {
          const lists = await store.lists(config.DEFAULT_LIST);
          if (options.json) {
            process.stdout.write(`${JSON.stringify(lists, null, 2)}\n`);
            return;
          }
          if (lists.length === 0) {
            process.stdout.write('No lists yet. Import one with `depesche subscribers import <file.csv> --list <name>`.\n');
            return;
          }
          const header = ['list', 'visibility', 'total', ...SUBSCRIBER_STATUSES, ...LANGS.map((l) => `active ${l}`)];
          const rows = lists.map((l) => [l.name, l.visibility, l.total, ...SUBSCRIBER_STATUSES.map((s) => l.byStatus[s]), ...LANGS.map((lang) => l.activeByLang[lang])].map(String));
          const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
          const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
          process.stdout.write(`${[line(header), ...rows.map(line)].join('\n')}\n`);
        }),
      ),
    );
}
