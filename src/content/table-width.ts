import type { Token } from 'markdown-it';
import { inlineText } from './inline-text.ts';
import type { TableShape } from './model.ts';

/**
 * How wide a table must be so no cell breaks a word or splits a figure from its unit.
 * Lint warns with this estimate, and the renderer gives a table that must scroll this
 * width, so lint's figure is what a phone shows.
 *
 * On a phone the text column is about 320 px wide (375 px screen, 28 px padding each
 * side). Beyond it a table scrolls sideways in its own box: readable, but readers see
 * only the first columns at once.
 */
export const PHONE_TEXT_WIDTH = 319;
/** Table text on phones (see the mobile rules in templates/_shared/head.hbs). */
const FONT_PX = 13;
/** Cell padding (5 px each side on phones) and the border. */
const CELL_EXTRA_PX = 11;

/** Rough advance widths of Helvetica/Arial in em: enough to tell 300 px from 600 px. */
function charEm(c: string): number {
  if ('iljtf.,:;|!\'’ \u00a0'.includes(c)) return 0.28;
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

/** Where a cell may wrap: ordinary white space, not the no-break space that ties a unit to its figure. */
const WRAP = /[ \t\r\n]+/;

/** The narrowest a table can get without breaking a word: the widest word of each column, summed. */
export function minTableWidth(table: TableShape): number {
  const columns = Math.max(table.header.length, ...table.rows.map((r) => r.length));
  let total = 0;
  for (let c = 0; c < columns; c++) {
    let widest = 0;
    const cells: [string, boolean][] = [[table.header[c] ?? '', true], ...table.rows.map((r): [string, boolean] => [r[c] ?? '', false])];
    for (const [cell, bold] of cells) for (const word of cell.split(WRAP)) widest = Math.max(widest, wordWidth(word, bold));
    total += widest + CELL_EXTRA_PX;
  }
  return Math.round(total);
}

/**
 * Units that belong to the figure before them. A narrow column would otherwise wrap
 * "28,8 %" as "28,8" over "%". Currency symbols also bind to a figure after them ("€ 12").
 */
const UNIT_AFTER = /(\d)[ \t]+(%|‰|€|\$|£|¥|°C?|Mio\.?|Mrd\.?|Bio\.?|Tsd\.?|[kMGT]Wh?|km|kg|m²|m³|t|h|Std\.|Pkt\.|ct|Cent|Euro|Dollar|Yuan|USD|EUR|CNY|RMB)(?=$|[\s,;.)/])/gu;
const UNIT_BEFORE = /(€|\$|£|¥|EUR|USD)[ \t]+(?=\d)/gu;

/** A cell's text with no-break spaces between each figure and its unit. */
export function keepUnits(text: string): string {
  return text.replace(UNIT_AFTER, '$1\u00a0$2').replace(UNIT_BEFORE, '$1\u00a0');
}

/**
 * Core rule: ties units to their figures in every table cell, and marks each table with
 * the width it needs (`meta.minWidth`), for the renderer.
 */
export function measureTables(state: { tokens: Token[] }): void {
  let open: Token | null = null;
  let shape: TableShape = { line: 0, header: [], rows: [] };
  let row: string[] = [];
  for (const token of state.tokens) {
    if (token.type === 'table_open') {
      open = token;
      shape = { line: 0, header: [], rows: [] };
    } else if (token.type === 'tr_open') row = [];
    else if (token.type === 'tr_close') {
      if (!shape.header.length) shape.header = row;
      else shape.rows.push(row);
    } else if (token.type === 'inline' && open) {
      for (const child of token.children ?? []) if (child.type === 'text') child.content = keepUnits(child.content);
      row.push(inlineText(token));
    } else if (token.type === 'table_close' && open) {
      open.meta = { ...open.meta, minWidth: minTableWidth(shape) };
      open = null;
    }
  }
}
