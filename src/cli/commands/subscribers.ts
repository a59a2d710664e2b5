import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import cliProgress from 'cli-progress';
import { loadConfig, createRedis, keyspace, type Config } from '../../config/index.ts';
import { DepescheError } from '../../errors.ts';
import { LANGS, type Lang } from '../../core/lang.ts';
import { exportCsv } from '../../subscribers/export.ts';
import { importCsv, openCsv } from '../../subscribers/import.ts';
import { RedisSubscriberStore } from '../../subscribers/redis-store.ts';
import { SUBSCRIBER_STATUSES, type SubscriberStatus } from '../../subscribers/types.ts';
import { checkName, normalizeEmail } from '../../subscribers/validate.ts';

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
    return await fn(new RedisSubscriberStore(redis, keyspace(config.DEPESCHE_PREFIX)), config);
  } finally {
    redis.disconnect();
  }
}

// The actions of `depesche subscribers …`; their arguments and options are in ../registry.ts.

interface ImportOptions {
  list: string;
  defaultLang: Lang;
  status: SubscriberStatus;
  encoding: string;
  report?: string;
}

export function importFile(file: string, options: ImportOptions): Promise<void> {
  return withStore(async (store) => {
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
        encoding: options.encoding,
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
      ...(summary.encoding.note ? [`  encoding: ${summary.encoding.note}`] : []),
      `  created ${summary.created}, updated ${summary.updated}, unchanged ${summary.unchanged}, added to the list ${summary.created + summary.joined}`,
      ...(summary.joinedLines ? [`  ${summary.joinedLines} name(s) spanned several lines; each line break became a space`] : []),
      summary.rejected > 0 ? `  rejected ${summary.rejected}: see ${reportPath} (spreadsheet row and reason per line)` : '  rejected 0',
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  });
}

export function exportList(options: { list: string; out?: string; status?: SubscriberStatus[] }): Promise<void> {
  return withStore(async (store) => {
    const output = options.out ? createWriteStream(options.out) : process.stdout;
    const count = await exportCsv(store, options.list, output, { end: Boolean(options.out), ...(options.status ? { statuses: options.status } : {}) });
    process.stderr.write(`Exported ${count} subscribers from "${options.list}"${options.out ? ` to ${options.out}` : ''}.\n`);
  });
}

export function add(email: string, options: { list: string; name?: string; lang?: Lang; status: SubscriberStatus }): Promise<void> {
  return withStore(async (store) => {
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
  });
}

export function remove(email: string, options: { list: string; unsubscribe?: boolean }): Promise<number> {
  return withStore(async (store) => {
    const subscriber = await store.findByEmail(email);
    if (!subscriber) throw new DepescheError('E_NOT_FOUND', `No subscriber with the address ${email}.`);
    const removed = await store.removeFromList(subscriber.id, options.list);
    if (options.unsubscribe) await store.unsubscribe(subscriber.id, 'cli');
    process.stdout.write(`${subscriber.email}: ${removed ? `removed from "${options.list}"` : `was not on "${options.list}"`}${options.unsubscribe ? ', unsubscribed' : ''}\n`);
    return removed || options.unsubscribe ? 0 : 1;
  });
}

export function forget(email: string): Promise<void> {
  return withStore(async (store) => {
    const subscriber = await store.findByEmail(email);
    if (!subscriber) throw new DepescheError('E_NOT_FOUND', `No subscriber with the address ${email}.`);
    await store.forget(subscriber.id);
    process.stdout.write(`${subscriber.email}: erased (was on ${subscriber.lists.length ? subscriber.lists.join(', ') : 'no list'})\n`);
  });
}

export function show(email: string): Promise<void> {
  return withStore(async (store) => {
    const subscriber = await store.findByEmail(email);
    if (!subscriber) throw new DepescheError('E_NOT_FOUND', `No subscriber with the address ${email}.`);
    const log = await store.consentLog(subscriber.id);
    process.stdout.write(`${JSON.stringify({ ...subscriber, log }, null, 2)}\n`);
  });
}

export function lists(options: { json?: boolean }): Promise<void> {
  return withStore(async (store) => {
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
  });
}
