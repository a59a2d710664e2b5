import type { EditionRule } from '../rule.ts';

/** Attribute value test without building a RegExp from data. */
function hasLang(tag: string, lang: string): boolean {
  return tag.includes(` lang="${lang}"`);
}

export const langAttr: EditionRule = {
  name: 'lang',
  description: '`lang` on <html> and on a wrapper inside <body>, so screen readers and translators know the language',
  check({ edition, doc, html }) {
    const { lang } = edition;
    const findings = [];
    const at = { severity: 'error' as const, rule: 'lang', file: doc.file, lang };
    const htmlTag = /<html\b[^>]*>/i.exec(html)?.[0] ?? '';
    if (!hasLang(htmlTag, lang)) findings.push({ ...at, message: `<html> lacks lang="${lang}".`, hint: 'The template\'s <mjml> tag needs lang="{{lang}}".' });
    const body = html.slice(Math.max(0, html.search(/<body\b/i)));
    const wrappers = body.match(/<(?:div|table|center)\b[^>]*>/gi) ?? [];
    if (!wrappers.some((tag) => hasLang(tag, lang))) findings.push({ ...at, message: `No wrapper inside <body> carries lang="${lang}".`, hint: 'MJML adds it from <mjml lang="…">; keep that attribute in the template.' });
    return findings;
  },
};
