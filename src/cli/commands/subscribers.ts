import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
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
import { checkName, normalizeEmail } from '../../subscribers/validate.ts';
import { withRedis } from '../redis.ts';

// The actions of `depesche subscribers …`; their arguments and options are in ../registry.ts.

/** A store for one command, over {@link withRedis}. */
export function withStore<T>(fn: (store: RedisSubscriberStore, config: Config) => Promise<T>): Promise<T> {
  return withRedis((redis, config) => fn(new RedisSubscriberStore(redis, keyspace(config.DEPESCHE_PREFIX)), config));
}

export interface Attribution {
  reason?: string;
  by?: string;
}

/** Who ran an ops command, for the consent log: `cli:<login>`, or `--by`. */
export function actor(options: Attribution): Actor {
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
      ...(summary.keptOff > 0 ? [`  not put back on the list: ${summary.keptOff} (they left it; only they can rejoin)`] : []),
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

interface AddOptions extends Attribution {
  list: string;
  name?: string;
  lang?: Lang;
  status: SubscriberStatus;
  rejoin?: boolean;
}

export function add(email: string, options: AddOptions): Promise<number> {
  return withStore(async (store) => {
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
    const membership = result.joined
      ? `added to "${options.list}"`
      : result.keptOff
        ? `not added: they left "${options.list}" on ${s.left[options.list]} (--rejoin --reason … if they asked to come back)`
        : `already on "${options.list}"`;
    process.stdout.write(`${s.email} (id ${s.id}, ${s.lang}, ${s.status}): ${result.outcome}, ${membership}\n`);
    return result.keptOff ? 1 : 0;
  });
}

export function remove(email: string, options: Attribution & { list: string; unsubscribe?: boolean }): Promise<number> {
  return withStore(async (store) => {
    const subscriber = await findSubscriber(store, email);
    const who = actor(options);
    const removed = await store.removeFromList(subscriber.id, options.list, who);
    if (options.unsubscribe) await store.unsubscribe(subscriber.id, 'cli', { actor: who });
    process.stdout.write(`${subscriber.email}: ${removed ? `removed from "${options.list}"` : `was not on "${options.list}"`}${options.unsubscribe ? ', unsubscribed' : ''}\n`);
    return removed || options.unsubscribe ? 0 : 1;
  });
}

export function forget(email: string, options: Attribution): Promise<void> {
  return withStore(async (store) => {
    const subscriber = await findSubscriber(store, email);
    await store.forget(subscriber.id, actor(options));
    // The index sweep runs in the background; the connection must outlive it.
    await store.search.settled();
    process.stdout.write(`${subscriber.email}: erased (was on ${subscriber.lists.length ? subscriber.lists.join(', ') : 'no list'})\n`);
  });
}

export function show(email: string, options: { consent?: boolean }): Promise<void> {
  return withStore(async (store) => {
    const report = await subscriberReport(store, await findSubscriber(store, email), { history: Boolean(options.consent) });
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  });
}

export function reactivate(email: string, options: Attribution): Promise<void> {
  return withStore(async (store) => {
    const subscriber = await findSubscriber(store, email);
    await store.reactivate(subscriber.id, actor(options));
    process.stdout.write(`${subscriber.email}: ${subscriber.status} → active\n`);
  });
}

export function setLang(email: string, lang: Lang, options: Attribution): Promise<void> {
  return withStore(async (store) => {
    const subscriber = await findSubscriber(store, email);
    const result = await store.setLang(subscriber.id, lang, { via: 'ops', actor: actor(options) });
    process.stdout.write(`${subscriber.email}: ${result === 'unchanged' ? `already ${lang}` : `${subscriber.lang} → ${lang}`}\n`);
  });
}

export function visibility(list: string, visibility: 'public' | 'private', options: Attribution): Promise<void> {
  return withStore(async (store) => {
    await store.setVisibility(list, visibility, actor(options));
    process.stdout.write(`list "${list}" is ${visibility}\n`);
  });
}

export function lists(options: { json?: boolean }): Promise<void> {
  return withStore(async (store, config) => {
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
  });
}

export function reindex(): Promise<void> {
  return withStore(async (store) => {
    const started = performance.now();
    const count = await store.search.rebuild((ids) => store.getMany(ids), (done) => {
      if (process.stderr.isTTY) process.stderr.write(`\rindexed ${done}`);
    }, { force: true });
    if (process.stderr.isTTY) process.stderr.write('\n');
    process.stdout.write(`indexed ${count} subscribers for search in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);
  });
}
