import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';

/**
 * CSV records from a text stream, one at a time, with each broken record contained to itself.
 *
 * Where a record ends is the whole question. A quoted field may hold line breaks (a name
 * typed with Alt+Enter in Excel), so a line end inside quotes does not end the record.
 * But a stray quote (`sa@,"Anna`) leaves a field open just the same, and a parser that
 * trusts it reads on in quoted mode, swallowing good rows until some quote further down
 * closes the field. Both hold here because a record boundary is decided line by line:
 *
 * 1. Records are cut at line ends. A record takes in the next line only while one of its
 *    quoted fields is open, and for at most {@link MAX_RECORD_LINES} lines.
 * 2. A line that begins like a row of its own always starts a new record: its cells up to
 *    the anchor column (the address, see {@link CsvAnchor}) read cleanly and the anchor
 *    passes its test. The quote left open above it was stray.
 * 3. A record over several lines must then parse strictly as one record.
 *
 * When 2 or 3 fails, or the quote is never closed, the record's first line is rejected on
 * its own and the lines after it are read again as records of their own. So a stray quote
 * costs its own row, and a name over two lines (whose second line never starts with an
 * address) imports. Each record goes through csv-parse on its own; a quote-free line is
 * simply split.
 */
export const MAX_RECORD_LINES = 20;

export type CsvRecord =
  /** `row` numbers records the way a spreadsheet shows them: the header is row 1. */
  | { row: number; fields: string[] }
  | { row: number; error: string; raw: string };

export interface CsvRecords {
  /** Comma, semicolon (spreadsheets in German locales) or tab, read from the header. */
  delimiter: string;
  header: string[];
  records: AsyncGenerator<CsvRecord>;
}

/** A column whose values say "a row starts here", such as a valid address. */
export interface CsvAnchor {
  column: number;
  test(value: string): boolean;
}

export interface ReadCsvOptions {
  /** Picks the anchor column from the header; without one, rule 2 above does not apply. */
  anchor?: (header: string[]) => CsvAnchor | undefined;
}

/** Whether a quoted field is still open at the end of `text`. */
function openQuote(text: string, delimiter: string): boolean {
  let quoted = false;
  let fieldStart = true;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') i++;
        else quoted = false;
      }
    } else if (c === '"' && fieldStart) {
      quoted = true;
      fieldStart = false;
    } else {
      fieldStart = c === delimiter || c === '\n';
    }
  }
  return quoted;
}

const NEVER_CLOSED = 'a quoted field is never closed';

const strict = (delimiter: string) => ({ delimiter, relax_column_count: true });

/**
 * Strict first. A quote inside an unquoted field (`O"Brien`) gets a lenient second try on
 * a one-line record, since that is what the file's author meant. Records over several
 * lines get no second try: there, leniency is what swallows good rows.
 */
function fields(text: string, delimiter: string, multiline: boolean): string[] | string {
  if (!text.includes('"')) return text.split(delimiter);
  try {
    return one(parse(text, strict(delimiter)) as string[][]);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (!multiline && code === 'INVALID_OPENING_QUOTE') {
      try {
        return one(parse(text, { ...strict(delimiter), relax_quotes: true }) as string[][]);
      } catch {
        // fall through to the strict parser's reason
      }
    }
    if (code === 'CSV_INVALID_CLOSING_QUOTE') return 'a quoted field has text after its closing quote (write a quote inside quotes as "")';
    if (code === 'CSV_QUOTE_NOT_CLOSED') return NEVER_CLOSED;
    return (error as Error).message;
  }
}

function one(records: string[][]): string[] | string {
  return records.length === 1 ? records[0]! : 'the row holds more than one record';
}

/**
 * A line's cells up to and including `column`, when those read cleanly on their own;
 * trouble further right (a stray quote in a later field) does not count against them.
 */
function cellsThrough(line: string, delimiter: string, column: number): string[] | undefined {
  if (!line.includes('"')) return line.split(delimiter);
  try {
    return parse(line, strict(delimiter))[0] as string[] | undefined;
  } catch (error) {
    // csv-parse names the field it failed in; before the anchor, the line starts no row.
    const failedAt = (error as { index?: number }).index;
    if (failedAt === undefined || failedAt <= column) return undefined;
    // Cut the line at each delimiter until the cells through the anchor parse on their own.
    for (let cut = line.indexOf(delimiter); cut >= 0; cut = line.indexOf(delimiter, cut + 1)) {
      try {
        const cells = parse(line.slice(0, cut), strict(delimiter))[0] as string[] | undefined;
        if (cells && cells.length >= column + 1) return cells;
      } catch {
        // the cut fell inside a quoted field; try the next delimiter
      }
    }
    return undefined;
  }
}

function detectDelimiter(header: string): string {
  const counts = [',', ';', '\t'].map((d) => [d, header.split(d).length - 1] as const);
  return counts.reduce((best, next) => (next[1] > best[1] ? next : best))[0];
}

/**
 * Reads the header, then yields records lazily; the input is paused while the consumer is
 * busy, so memory stays flat. `text` is decoded text (see csv-decode.ts); a byte stream is
 * read as UTF-8. Returns undefined for an empty input.
 */
export async function readCsv(text: Readable, options: ReadCsvOptions = {}): Promise<CsvRecords | undefined> {
  const lines = createInterface({ input: text, crlfDelay: Infinity })[Symbol.asyncIterator]();
  // Lines given back after an unclosed quote, to be read again as records of their own.
  const replay: string[] = [];
  let row = 0;
  const next = async (): Promise<string | undefined> => {
    if (replay.length > 0) return replay.shift();
    const result = await lines.next();
    if (result.done) return undefined;
    row++;
    return result.value;
  };

  let first: string | undefined;
  while ((first = await next()) !== undefined && first.trim() === '');
  if (first === undefined) return undefined;
  first = first.replace(/^\uFEFF/, '');
  const delimiter = detectDelimiter(first);
  const parsedHeader = fields(first, delimiter, false);
  const header = typeof parsedHeader === 'string' ? [first] : parsedHeader;
  const headerRow = row;
  const anchor = options.anchor?.(header);
  const startsRecord = (line: string): boolean => {
    if (!anchor || line.trim() === '') return false;
    const cells = cellsThrough(line, delimiter, anchor.column);
    return cells !== undefined && anchor.test(cells[anchor.column] ?? '');
  };

  async function* records(): AsyncGenerator<CsvRecord> {
    // Records count from the header's row; blank lines count as rows, as spreadsheets show them.
    let index = headerRow;
    let line: string | undefined;
    while ((line = await next()) !== undefined) {
      index++;
      if (line.trim() === '') continue;
      if (!line.includes('"') || !openQuote(line, delimiter)) {
        const parsed = fields(line, delimiter, false);
        yield typeof parsed === 'string' ? { row: index, error: `malformed CSV: ${parsed}`, raw: line } : { row: index, fields: parsed };
        continue;
      }
      // A quoted field is open at the line end: the record goes on, unless rule 2 says otherwise.
      const parts = [line];
      let text = line;
      let interrupted = false;
      while (parts.length < MAX_RECORD_LINES && openQuote(text, delimiter)) {
        const more = await next();
        if (more === undefined) break;
        parts.push(more);
        if (startsRecord(more)) {
          interrupted = true;
          break;
        }
        text = parts.join('\n');
      }
      const parsed = interrupted || openQuote(text, delimiter) ? NEVER_CLOSED : fields(text, delimiter, true);
      if (typeof parsed === 'string') {
        // The lines after the first may be good rows on their own: give them back.
        yield { row: index, error: `malformed CSV: ${parsed}`, raw: line };
        replay.unshift(...parts.slice(1));
        continue;
      }
      yield { row: index, fields: parsed };
    }
  }

  return { delimiter, header, records: records() };
}
