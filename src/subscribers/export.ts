import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { stringify } from 'csv-stringify';
import { DepescheError } from '../errors.ts';
import { CSV_COLUMNS } from './import.ts';
import type { RedisSubscriberStore } from './redis-store.ts';
import { neutralizeRow } from './spreadsheet-safe.ts';
import type { SubscriberStatus } from './types.ts';

export interface ExportOptions {
  /** Only members with one of these statuses; all members when absent. */
  statuses?: SubscriberStatus[];
  /** End `output` when done; false for stdout. @defaultValue true */
  end?: boolean;
}

/**
 * Writes a list as CSV in join order, in the columns import reads, so the file imports
 * back to the same subscribers with the same languages and statuses (an unsubscribed
 * address stays unsubscribed). Values that a spreadsheet would run as a formula get a
 * leading apostrophe, which import removes again (spreadsheet-safe.ts). Pages through the
 * list; memory stays flat.
 */
export async function exportCsv(store: RedisSubscriberStore, list: string, output: Writable, options: ExportOptions = {}): Promise<number> {
  if (!(await store.listExists(list))) {
    const known = (await store.lists()).map((l) => l.name);
    throw new DepescheError('E_NOT_FOUND', `There is no list "${list}".`, {
      hint: known.length ? `Known lists: ${known.join(', ')}.` : 'Create one with `depesche subscribers import <file.csv> --list <name>`.',
    });
  }
  const stringifier = stringify({ header: true, columns: [...CSV_COLUMNS] });
  stringifier.pipe(output, { end: options.end ?? true });
  const wanted = options.statuses ? new Set(options.statuses) : undefined;
  let count = 0;
  for await (const page of store.iterate(list)) {
    for (const s of page) {
      if (wanted && !wanted.has(s.status)) continue;
      count++;
      // A name like `=HYPERLINK(…)` must not run when the file is opened in a spreadsheet.
      if (!stringifier.write(neutralizeRow([s.email, s.name, s.lang, s.status]))) await once(stringifier, 'drain');
    }
  }
  stringifier.end();
  await finished(stringifier);
  if (options.end ?? true) await finished(output);
  return count;
}
