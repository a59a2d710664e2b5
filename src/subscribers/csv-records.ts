import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';

/**
 * CSV records from a stream, one at a time, with each broken record contained to itself.
 *
 * A streaming CSV parser that meets a stray quote keeps reading, in quoted mode, until the
 * next quote somewhere further down. Even when it skips the bad record, it can take many
 * good rows with it without a word. Lists come out of CRMs and spreadsheets with exactly
 * such quotes, so records are cut at line ends here first. A record spans more lines only
 * while a quoted field is open, and for at most {@link MAX_RECORD_LINES} lines. Each
 * record then goes through csv-parse on its own, and a quote-free line is simply split.
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
      fieldStart = c === delimiter;
    }
  }
  return quoted;
}

const NEVER_CLOSED = 'a quoted field is never closed';

/**
 * Strict first. A quote inside an unquoted field (`O"Brien`) gets a lenient second try on
 * a one-line record, since that is what the file's author meant. Records over several
 * lines get no second try: there, leniency is what swallows good rows.
 */
function fields(text: string, delimiter: string, multiline: boolean): string[] | string {
  if (!text.includes('"')) return text.split(delimiter);
  try {
    return one(parse(text, { delimiter, relax_column_count: true }) as string[][]);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (!multiline && code === 'INVALID_OPENING_QUOTE') {
      try {
        return one(parse(text, { delimiter, relax_column_count: true, relax_quotes: true }) as string[][]);
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

function detectDelimiter(header: string): string {
  const counts = [',', ';', '\t'].map((d) => [d, header.split(d).length - 1] as const);
  return counts.reduce((best, next) => (next[1] > best[1] ? next : best))[0];
}

/**
 * Reads the header, then yields records lazily; the input is paused while the consumer is
 * busy, so memory stays flat. Returns undefined for an empty input.
 */
export async function readCsv(input: Readable): Promise<CsvRecords | undefined> {
  const lines = createInterface({ input, crlfDelay: Infinity })[Symbol.asyncIterator]();
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
  const header = fields(first, delimiter, false);
  const headerRow = row;

  async function* records(): AsyncGenerator<CsvRecord> {
    // Records count from the header's row; blank lines count as rows, as spreadsheets show them.
    let index = headerRow;
    let line: string | undefined;
    while ((line = await next()) !== undefined) {
      index++;
      if (line.trim() === '') continue;
      const parts = [line];
      let text = line;
      if (line.includes('"') && openQuote(text, delimiter)) {
        while (parts.length < MAX_RECORD_LINES && openQuote(text, delimiter)) {
          const more = await next();
          if (more === undefined) break;
          parts.push(more);
          text = parts.join('\n');
        }
      }
      const parsed = openQuote(text, delimiter) ? NEVER_CLOSED : fields(text, delimiter, parts.length > 1);
      if (typeof parsed === 'string' && parts.length > 1) {
        // The lines joined to this one may be good rows on their own: give them back.
        yield { row: index, error: `malformed CSV: ${NEVER_CLOSED}`, raw: line };
        replay.unshift(...parts.slice(1));
        continue;
      }
      yield typeof parsed === 'string' ? { row: index, error: `malformed CSV: ${parsed}`, raw: text } : { row: index, fields: parsed };
    }
  }

  return { delimiter, header: typeof header === 'string' ? [first] : header, records: records() };
}
