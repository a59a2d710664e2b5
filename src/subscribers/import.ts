import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { DepescheError } from '../errors.ts';
import type { Lang } from '../core/lang.ts';
import type { RedisSubscriberStore, UpsertRow } from './redis-store.ts';
import { readCsv } from './csv-records.ts';
import type { SubscriberStatus } from './types.ts';
import { checkLang, checkListName, checkName, checkStatus, normalizeEmail } from './validate.ts';

/** Columns import reads and export writes; anything else in the header is ignored. */
export const CSV_COLUMNS = ['email', 'name', 'lang', 'status'] as const;

export interface ImportOptions {
  store: RedisSubscriberStore;
  list: string;
  /** Language for rows without one. @defaultValue 'de' */
  defaultLang?: Lang;
  /** Status for new subscribers from rows without one. @defaultValue 'active' */
  defaultStatus?: SubscriberStatus;
  /** Recorded as the consent source of new subscribers, e.g. `import:list.csv`. */
  source?: string;
  /** Rejected rows go here as CSV: row, reason, then the row's values. */
  report?: Writable;
  /** Called after each batch reaches Redis, with bytes read so far. */
  onProgress?: (progress: { bytes: number; rows: number }) => void;
  /** Valid rows per Redis round trip. @defaultValue 2000 */
  batchSize?: number;
}

export interface ImportSummary {
  /** Data rows read, header excluded. */
  rows: number;
  created: number;
  updated: number;
  unchanged: number;
  /** Existing subscribers newly added to the list. */
  joined: number;
  /** Readers not put back on the list because they left it (only their own confirmed request can). */
  keptOff: number;
  rejected: number;
}

export interface Rejection {
  /**
   * Row as a spreadsheet numbers it: the header is row 1, the first data row is row 2.
   * (Not the line: a quoted name may span lines.)
   */
  row: number;
  reason: string;
  values: string[];
}

/**
 * Streams a CSV into a list. Rows are validated one by one; bad ones go to the report and
 * never stop the good ones, which are written in pipelined batches while the next batch
 * is parsed. A broken quote spoils its own row only (see csv-records.ts). Re-running the
 * same file changes nothing (upserts are idempotent). An import never lifts an unsubscribe,
 * a bounce or a complaint, never puts a reader back on a list they left, and a list it
 * creates is private until ops make it public.
 */
export async function importCsv(input: Readable, options: ImportOptions): Promise<ImportSummary> {
  const list = checkListName(options.list);
  if (!list.ok) throw new DepescheError('E_INPUT', list.reason, { hint: 'Pass --list with a name like `weekly` or `briefing-de`.' });
  const batchSize = options.batchSize ?? 2000;
  const summary: ImportSummary = { rows: 0, created: 0, updated: 0, unchanged: 0, joined: 0, keptOff: 0, rejected: 0 };
  let bytes = 0;
  input.on('data', (chunk: Buffer | string) => (bytes += chunk.length));
  const csv = await readCsv(input);
  if (!csv) throw new DepescheError('E_INPUT', 'The CSV file is empty.', { hint: `Start it with a header line: ${CSV_COLUMNS.join(',')}` });
  // A file without an email column stops here, before the report or Redis see anything.
  const columns = headerColumns(csv.header, options);
  const reporter = options.report ? stringify({ header: true, columns: ['row', 'reason', ...CSV_COLUMNS] }) : undefined;
  const reportDone = reporter && options.report ? (reporter.pipe(options.report), finished(options.report)) : undefined;

  const reject = (rejection: Rejection, columns: ColumnMap | undefined) => {
    summary.rejected++;
    if (!reporter) return;
    const v = rejection.values;
    const pick = (i: number | undefined) => (i === undefined ? '' : (v[i] ?? ''));
    // An unreadable row goes to the report whole, in the email column, so nothing is lost.
    const values = columns ? CSV_COLUMNS.map((c) => pick(columns[c])) : [v.join(','), '', '', ''];
    reporter.write([rejection.row, rejection.reason, ...values]);
  };

  let batch: UpsertRow[] = [];
  let inFlight: Promise<void> | undefined;
  const defaults = {
    defaultLang: options.defaultLang ?? 'de',
    defaultStatus: options.defaultStatus ?? 'active',
    ...(options.source ? { source: options.source } : {}),
  };
  const flush = async () => {
    const rows = batch;
    batch = [];
    // One batch in Redis while the next is parsed; never more, so memory stays flat.
    await inFlight;
    const rowsSoFar = summary.rows;
    const readSoFar = bytes;
    const written = options.store.upsertMany(rows, list.value, defaults).then((results) => {
      for (const result of results) {
        summary[result.outcome]++;
        if (result.joined && result.outcome !== 'created') summary.joined++;
        if (result.keptOff) summary.keptOff++;
      }
      options.onProgress?.({ bytes: readSoFar, rows: rowsSoFar });
    });
    // Awaited at the next flush or the end; until then a failure must not count as unhandled.
    written.catch(() => {});
    inFlight = written;
  };

  try {
    for await (const record of csv.records) {
      summary.rows++;
      if ('error' in record) {
        reject({ row: record.row, reason: record.error, values: [record.raw] }, undefined);
        continue;
      }
      const checked = checkRow(record.fields, columns);
      if (typeof checked === 'string') {
        reject({ row: record.row, reason: checked, values: record.fields }, columns);
        continue;
      }
      batch.push(checked);
      if (batch.length >= batchSize) await flush();
    }
    if (batch.length > 0) await flush();
    await inFlight;
    options.onProgress?.({ bytes, rows: summary.rows });
  } finally {
    reporter?.end();
    await reportDone;
  }
  return summary;
}

type ColumnMap = Partial<Record<(typeof CSV_COLUMNS)[number], number>>;

function headerColumns(header: string[], options: ImportOptions): ColumnMap {
  const columns: ColumnMap = {};
  header.forEach((cell, i) => {
    const name = cell.trim().toLowerCase() as (typeof CSV_COLUMNS)[number];
    if ((CSV_COLUMNS as readonly string[]).includes(name) && columns[name] === undefined) columns[name] = i;
  });
  if (columns.email === undefined) {
    throw new DepescheError('E_INPUT', `The CSV header has no "email" column (found: ${header.join(', ') || 'nothing'}).`, {
      location: { file: options.source?.replace(/^import:/, '') ?? 'CSV', line: 1 },
      hint: `The first line must name the columns, e.g. ${CSV_COLUMNS.join(',')}; name, lang and status are optional.`,
    });
  }
  return columns;
}

/** A valid row, or the reason it is not. */
function checkRow(record: string[], columns: ColumnMap): UpsertRow | string {
  const cell = (column: keyof ColumnMap) => {
    const i = columns[column];
    return i === undefined ? undefined : record[i];
  };
  const email = normalizeEmail(cell('email'));
  if (!email.ok) return email.reason;
  const row: UpsertRow = { email: email.value };
  const name = checkName(cell('name'));
  if (!name.ok) return name.reason;
  if (name.value) row.name = name.value;
  const rawLang = cell('lang')?.trim();
  if (rawLang) {
    const lang = checkLang(rawLang);
    if (!lang.ok) return lang.reason;
    row.lang = lang.value;
  }
  const rawStatus = cell('status')?.trim();
  if (rawStatus) {
    const status = checkStatus(rawStatus);
    if (!status.ok) return status.reason;
    row.status = status.value;
  }
  return row;
}

/** Opens a file for {@link importCsv}, with its size for a progress bar; names the file when it is missing. */
export async function openCsv(file: string): Promise<{ stream: Readable; size: number; source: string }> {
  let size: number;
  try {
    size = (await stat(file)).size;
  } catch (cause) {
    throw new DepescheError('E_INPUT', `Cannot read ${file}.`, { hint: 'Check the path of the CSV file.', cause });
  }
  return { stream: createReadStream(file), size, source: `import:${basename(file)}` };
}
