import type { EditionRule } from '../rule.ts';

/** Gmail clips messages from about 102 KB; stay below 100 KB, warn from 80 KB. */
export const SIZE_LIMIT = 100 * 1024;
export const SIZE_WARNING = 80 * 1024;

const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

export const size: EditionRule = {
  name: 'size',
  description: 'the HTML stays under 100 KB, where Gmail starts clipping (a warning from 80 KB)',
  check({ edition, doc, html }) {
    const bytes = Buffer.byteLength(html, 'utf8');
    const at = { file: doc.file, lang: edition.lang };
    if (bytes >= SIZE_LIMIT) {
      return [{ severity: 'error', rule: 'size', ...at, message: `The HTML is ${kb(bytes)}; Gmail clips mails from about 102 KB and hides the rest, the unsubscribe link included.`, hint: `Stay under ${kb(SIZE_LIMIT)}: shorten the issue or split it.` }];
    }
    if (bytes >= SIZE_WARNING) {
      return [{ severity: 'warning', rule: 'size', ...at, message: `The HTML is ${kb(bytes)}, close to the ${kb(SIZE_LIMIT)} limit where Gmail starts clipping.` }];
    }
    return [];
  },
};
