import { decodeEntities, type EditionRule } from '../rule.ts';

export const impressum: EditionRule = {
  name: 'impressum',
  description: 'the Impressum is in the footer (German law wants it in every issue)',
  check({ edition, doc, html }) {
    const block = /<div class="impressum"[^>]*>([\s\S]*?)<\/div>/.exec(html);
    const text = block ? decodeEntities(block[1]!.replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim() : '';
    if (text.length >= 40) return [];
    return [{ severity: 'error', rule: 'impressum', file: doc.file, lang: edition.lang, message: 'The Impressum is missing or empty; German law wants it in every issue.', hint: 'Keep it in the footer: footer.impressum in the locale files, or `impressum:` in the front matter.' }];
  },
};
