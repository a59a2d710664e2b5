import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { DepescheError } from '../errors.ts';
import type { Lang } from '../core/lang.ts';
import type { RedisSubscriberStore, UpsertRow } from './redis-store.ts';
import { decodeCsv, REPLACEMENT_CHARACTER, type CsvEncoding } from './csv-decode.ts';
import { readCsv, type CsvAnchor } from './csv-records.ts';
import { neutralizeRow, restoreFormula } from './spreadsheet-safe.ts';
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
  /** Rejected rows go here as CSV: row, reason, then the row's values (spreadsheet-safe). */
  report?: Writable;
  /** Called with each rejected row as it is found, e.g. to list them in a browser. */
  onRejected?: (rejection: Rejection) => void;
  /** Called after each batch reaches Redis, with bytes of the file read and rows handled so far. */
  onProgress?: (progress: ImportProgress) => void;
  /**
   * The file's encoding, or `auto` (the default): a byte-order mark, UTF-8, or what the
   * detector is sure of, else the import stops before writing anything (csv-decode.ts).
   */
  encoding?: string;
  /** Valid rows per Redis round trip. @defaultValue 2000 */
  batchSize?: number;
}

export interface ImportProgress {
  /** Bytes of the file read so far; against its size, a progress bar. */
  bytes: number;
  /** Data rows handled so far (written or rejected). */
  rows: number;
  rejected: number;
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
  /** How the file was read; `note` says so when it was not plain UTF-8. */
  encoding: CsvEncoding;
  /** Names whose line breaks (a quoted field over several lines) became spaces. */
  joinedLines: number;
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
  let bytes = 0;
  // An encoding that cannot be told stops the import here, before anything is written.
  const decoded = await decodeCsv(input, { ...(options.encoding ? { encoding: options.encoding } : {}), onBytes: (read) => (bytes = read) });
  const summary: ImportSummary = { rows: 0, created: 0, updated: 0, unchanged: 0, joined: 0, keptOff: 0, rejected: 0, encoding: decoded.encoding, joinedLines: 0 };
  const csv = await readCsv(decoded.text, { anchor: emailAnchor });
  if (!csv) throw new DepescheError('E_INPUT', 'The CSV file is empty.', { hint: `Start it with a header line: ${CSV_COLUMNS.join(',')}` });
  // A file without an email column stops here, before the report or Redis see anything.
  const columns = headerColumns(csv.header, options);
  const reporter = options.report ? stringify({ header: true, columns: ['row', 'reason', ...CSV_COLUMNS] }) : undefined;
  const reportDone = reporter && options.report ? (reporter.pipe(options.report), finished(options.report)) : undefined;

  const reject = (rejection: Rejection, columns: ColumnMap | undefined) => {
    summary.rejected++;
    options.onRejected?.(rejection);
    if (!reporter) return;
    const v = rejection.values;
    const pick = (i: number | undefined) => (i === undefined ? '' : (v[i] ?? ''));
    // An unreadable row goes to the report whole, in the email column, so nothing is lost.
    const values = columns ? CSV_COLUMNS.map((c) => pick(columns[c])) : [v.join(','), '', '', ''];
    // Cells stay as the file had them, made safe to open in a spreadsheet; import undoes that.
    reporter.write(neutralizeRow([rejection.row, rejection.reason, ...values]));
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
      options.onProgress?.({ bytes: readSoFar, rows: rowsSoFar, rejected: summary.rejected });
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
      if (checked.joinedLines) summary.joinedLines++;
      batch.push(checked.row);
      if (batch.length >= batchSize) await flush();
    }
    if (batch.length > 0) await flush();
    await inFlight;
    options.onProgress?.({ bytes, rows: summary.rows, rejected: summary.rejected });
  } finally {
    reporter?.end();
    await reportDone;
  }
  // A file that was plain ASCII for a long stretch may have been decided on later.
  summary.encoding = decoded.encoding;
  return summary;
}

/** A line whose email cell holds an address starts a row: see csv-records.ts. */
function emailAnchor(header: string[]): CsvAnchor | undefined {
  const column = header.findIndex((cell) => cell.trim().toLowerCase() === 'email');
  return column < 0 ? undefined : { column, test: (value) => normalizeEmail(restoreFormula(value)).ok };
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

/** Line breaks and tabs inside a name (a quoted field over several lines) read as one space. */
const NAME_BREAKS = /[ \t]*[\r\n\t\u2028\u2029]+[ \t]*/g;

/** A valid row, or the reason it is not. */
function checkRow(record: string[], columns: ColumnMap): { row: UpsertRow; joinedLines: boolean } | string {
  // Cells come back as they were before export made them spreadsheet-safe.
  const cell = (column: keyof ColumnMap) => {
    const i = columns[column];
    return i === undefined || record[i] === undefined ? undefined : restoreFormula(record[i]);
  };
  for (const column of CSV_COLUMNS) {
    if (cell(column)?.includes(REPLACEMENT_CHARACTER)) {
      return `${column} holds bytes that are not valid in the file's encoding (is the file a mix of encodings?); fix the row, or name the encoding with --encoding`;
    }
  }
  const email = normalizeEmail(cell('email'));
  if (!email.ok) return email.reason;
  const row: UpsertRow = { email: email.value };
  const rawName = cell('name');
  const foldedName = rawName?.replace(NAME_BREAKS, ' ');
  const name = checkName(foldedName);
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
  return { row, joinedLines: /[\r\n\u2028\u2029]/.test(rawName ?? '') };
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
