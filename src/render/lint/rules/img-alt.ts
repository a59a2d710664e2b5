import { decodeEntities, lineOf, type EditionRule } from '../rule.ts';

export const imgAlt: EditionRule = {
  name: 'img-alt',
  description: 'every image has alt text (what readers see when images are blocked, and what screen readers say)',
  check({ edition, doc, html, lines }) {
    const findings = [];
    for (const match of html.matchAll(/<img\b[^>]*>/gi)) {
      const alt = /\balt="([^"]*)"/i.exec(match[0]);
      if (alt && alt[1]!.trim()) continue;
      const src = decodeEntities(/\bsrc="([^"]*)"/i.exec(match[0])?.[1] ?? '');
      const line = src ? lineOf(lines, src) : undefined;
      findings.push({
        severity: 'error' as const,
        rule: 'img-alt',
        file: doc.file,
        lang: edition.lang,
        ...(line ? { line } : {}),
        message: `The image ${src || '(no src)'} has no alt text.`,
        hint: `Describe it between the brackets: ![What it shows](${src || 'https://…'})`,
      });
    }
    return findings;
  },
};
