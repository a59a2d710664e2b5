import type { TableShape } from '../../../content/model.ts';
import type { Finding } from '../finding.ts';
import type { IssueRule } from '../rule.ts';

/**
 * On a phone the text column is about 320 px wide (375 px screen, 28 px padding each
 * side). Table cells wrap between words only, never inside one, so a table is at least
 * as wide as the longest word of each column together. Beyond the column it scrolls
 * sideways in its own box: readable, but readers see only the first columns at once.
 */
export const PHONE_TEXT_WIDTH = 319;
/** Table text on phones (see the mobile rules in templates/_shared/head.hbs). */
const FONT_PX = 13;
/** Cell padding (5 px each side on phones) and the border. */
const CELL_EXTRA_PX = 11;

/** Rough advance widths of Helvetica/Arial in em: enough to tell 300 px from 600 px. */
function charEm(c: string): number {
  if ('iljtf.,:;|!\'’ '.includes(c)) return 0.28;
  if ('mwMW'.includes(c)) return 0.85;
  if (/[A-ZÄÖÜ]/.test(c)) return 0.68;
  if (/[0-9]/.test(c)) return 0.56;
  return 0.53;
}

export function wordWidth(word: string, bold = false): number {
  let em = 0;
  for (const c of word) em += charEm(c);
  return em * FONT_PX * (bold ? 1.08 : 1);
}

/** The narrowest a table can get without breaking a word: the widest word of each column, summed. */
export function minTableWidth(table: TableShape): number {
  const columns = Math.max(table.header.length, ...table.rows.map((r) => r.length));
  let total = 0;
  for (let c = 0; c < columns; c++) {
    let widest = 0;
    const cells: [string, boolean][] = [[table.header[c] ?? '', true], ...table.rows.map((r): [string, boolean] => [r[c] ?? '', false])];
    for (const [cell, bold] of cells) for (const word of cell.split(/\s+/)) widest = Math.max(widest, wordWidth(word, bold));
    total += widest + CELL_EXTRA_PX;
  }
  return Math.round(total);
}

export const tableWidth: IssueRule = {
  name: 'table-width',
  description: 'a warning for a table wider than a phone, which readers must scroll sideways',
  check({ docs, editions }) {
    const findings: Finding[] = [];
    for (const doc of docs) {
      if (!editions.includes(doc.lang)) continue;
      for (const table of doc.outline.sections.flatMap((s) => s.tables)) {
        const width = minTableWidth(table);
        if (width <= PHONE_TEXT_WIDTH) continue;
        const columns = table.header.length;
        findings.push({
          severity: 'warning',
          rule: 'table-width',
          file: doc.file,
          line: table.line,
          lang: doc.lang,
          message: `This table (${columns} columns) needs about ${width} px without breaking a word; a phone has about ${PHONE_TEXT_WIDTH} px, so it scrolls sideways there and shows the first columns first.`,
          hint: 'Fine for reference tables. To avoid scrolling: fewer columns, shorter headers (abbreviate units), or split it into two tables. Put the columns readers need most on the left.',
        });
      }
    }
    return findings;
  },
};
