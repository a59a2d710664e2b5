import type { Finding } from '../finding.ts';
import { decodeEntities, lineOf, type EditionRule } from '../rule.ts';

const ABSOLUTE = /^https?:\/\/[^/\s]+/i;

export const linkAbsolute: EditionRule = {
  name: 'link-absolute',
  description: 'links and images are absolute http(s) URLs; a mail has no base to resolve anything else against',
  check({ edition, doc, html, lines }) {
    const findings: Finding[] = [];
    const add = (what: string, url: string, hint: string) => {
      const line = url ? (lineOf(lines, `(${url}`) ?? lineOf(lines, url)) : undefined;
      findings.push({ severity: 'error', rule: 'link-absolute', file: doc.file, lang: edition.lang, ...(line ? { line } : {}), message: `${what} "${url}" is not an absolute http(s) URL; mail clients cannot ${hint}.`, hint: 'Write the full address, starting with https://.' });
    };
    for (const match of html.matchAll(/<a\b[^>]*?\bhref="([^"]*)"/gi)) {
      const href = decodeEntities(match[1]!);
      if (!ABSOLUTE.test(href)) add('The link', href, 'resolve it');
    }
    for (const match of html.matchAll(/<img\b[^>]*?\bsrc="([^"]*)"/gi)) {
      const src = decodeEntities(match[1]!);
      if (!ABSOLUTE.test(src)) add('The image', src, 'load it');
    }
    return findings;
  },
};
