/**
 * CSV cells that a spreadsheet would run as a formula, made inert on the way out and
 * restored on the way in, so that export → import gives back exactly what was stored.
 *
 * Excel, LibreOffice and Google Sheets treat a cell that starts with `=`, `+`, `-` or `@`
 * as a formula (`=HYPERLINK("http://evil.example", "Click")`, DDE payloads), and a leading
 * tab or carriage return can smuggle one past a check. The usual defence (OWASP's "CSV
 * injection") is a leading apostrophe: spreadsheets show the cell as text and hide the
 * apostrophe.
 *
 * To stay lossless the rule must be a bijection, so it also covers values that already
 * start with apostrophes before such a character: export adds one apostrophe to any value
 * matching `'*[=+\-@\t\r]…`, import removes one from any value matching `'+[=+\-@\t\r]…`.
 * A name like `'Tis Jones` matches neither and passes both ways unchanged.
 */

const TRIGGERS = '=+-@\t\r';
const NEUTRALIZED = /^'+[=+\-@\t\r]/;

/** The value as a spreadsheet-safe cell. */
export function neutralizeFormula(value: string): string {
  let i = 0;
  while (value[i] === "'") i++;
  return i < value.length && TRIGGERS.includes(value[i]!) ? `'${value}` : value;
}

/** Undoes {@link neutralizeFormula}: `restoreFormula(neutralizeFormula(v)) === v` for every v. */
export function restoreFormula(cell: string): string {
  return NEUTRALIZED.test(cell) ? cell.slice(1) : cell;
}

/** A row of cells made safe, for csv-stringify. */
export function neutralizeRow(values: readonly (string | number)[]): (string | number)[] {
  return values.map((v) => (typeof v === 'string' ? neutralizeFormula(v) : v));
}
