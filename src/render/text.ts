import { compile, type FormatCallback } from 'html-to-text';
import type { IssueDocument, Item, Part } from '../content/model.ts';
import type { Translator } from '../i18n/index.ts';
import type { Lang } from '../core/lang.ts';
import { formatDate, formatFigure } from './format.ts';
import { escapeHtml } from '../core/escape.ts';
import { mergeMarker } from './merge.ts';

/**
 * The plain-text part, written from the section model rather than from the finished
 * HTML: same parts, headlines and links, in reading order, with no layout residue.
 */

/** Lines of the text part stay within this; mail clients wrap at 78. */
export const TEXT_WIDTH = 76;

function codePoints(value: string): number {
  return [...value].length;
}

/** Greedy word wrap; continuation lines start with `indent`. */
export function wrap(line: string, width: number, indent = ''): string[] {
  const out: string[] = [];
  let current = '';
  for (const word of line.split(' ')) {
    if (current && codePoints(current) + 1 + codePoints(word) > width) {
      out.push(current);
      current = indent + word;
    } else {
      current = current ? `${current} ${word}` : word;
    }
  }
  if (current) out.push(current);
  return out;
}

/**
 * A table as plain text readers can follow: aligned columns when they fit in
 * TEXT_WIDTH, otherwise one block per row of "Header: value" lines. A 7-column table in
 * aligned columns would be 120+ characters wide and wrap into noise.
 */
export function layoutTable(rows: string[][]): string {
  const clean = rows.map((row) => row.map((cell) => cell.replace(/\s+/g, ' ').trim()));
  const [header = [], ...body] = clean;
  const columns = Math.max(header.length, ...body.map((r) => r.length));
  const widths = Array.from({ length: columns }, (_, c) => Math.max(...clean.map((r) => codePoints(r[c] ?? ''))));
  const aligned = widths.reduce((sum, w) => sum + w, 0) + 2 * (columns - 1);
  if (aligned <= TEXT_WIDTH) {
    const line = (row: string[]) => widths.map((w, c) => (row[c] ?? '') + ' '.repeat(w - codePoints(row[c] ?? ''))).join('  ').trimEnd();
    return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
  }
  return body
    .map((row) =>
      row
        .flatMap((cell, c) => {
          if (!cell) return [];
          const name: string = header[c] ?? '';
          return wrap(name ? `${name}: ${cell}` : cell, TEXT_WIDTH, '  ');
        })
        .join('\n'),
    )
    .join('\n\n');
}

const readableTable: FormatCallback = (elem, walk, builder) => {
  builder.openTable();
  const visit = (node: typeof elem) => {
    if (node.type !== 'tag') return;
    if (['thead', 'tbody', 'tfoot'].includes(node.name ?? '')) {
      node.children.forEach((child) => visit(child as typeof elem));
    } else if (node.name === 'tr') {
      builder.openTableRow();
      for (const cell of node.children as (typeof elem)[]) {
        if (cell.type !== 'tag' || (cell.name !== 'th' && cell.name !== 'td')) continue;
        // Cells are laid out by layoutTable, so html-to-text must not wrap them first.
        builder.openTableCell({ maxColumnWidth: 10_000 });
        walk(cell.children, builder);
        builder.closeTableCell();
      }
      builder.closeTableRow();
    }
  };
  elem.children.forEach((child) => visit(child as typeof elem));
  builder.closeTable({ tableToString: (rows) => layoutTable(rows.map((row) => row.map((cell) => cell.text))), leadingLineBreaks: 2, trailingLineBreaks: 2 });
};

/** An image as its alt text; a figure's caption follows as its own paragraph. */
const altText: FormatCallback = (elem, _walk, builder) => {
  const alt = (elem.attribs?.alt ?? '').trim();
  if (alt) builder.addInline(`[${alt}]`, { noWordTransform: true });
};

const toText = compile({
  wordwrap: TEXT_WIDTH,
  formatters: { readableTable, altText },
  selectors: [
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true, linkBrackets: ['<', '>'] } },
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
    { selector: 'h3', options: { uppercase: false } },
    { selector: 'h4', options: { uppercase: false } },
    { selector: 'table', format: 'readableTable' },
    { selector: 'img', format: 'altText' },
    { selector: 's', format: 'inlineSurround', options: { prefix: '~~', suffix: '~~' } },
    { selector: 'del', format: 'inlineSurround', options: { prefix: '~~', suffix: '~~' } },
    { selector: 'pre', options: { leadingLineBreaks: 2, trailingLineBreaks: 2 } },
  ],
});

/** Block HTML from markdown-it as wrapped plain text. */
export function fragment(html: string): string {
  // Word joiners only steer line breaks in the HTML (footnote markers); plain text wraps by itself.
  return html.trim() ? toText(html).replaceAll('\u2060', '').trim() : '';
}

function heading(label: string): string {
  const upper = label.toLocaleUpperCase();
  return `${upper}\n${'='.repeat(Math.min(upper.length, TEXT_WIDTH))}`;
}

function linkLine(label: string, href: string): string {
  return `${label}: <${href}>`;
}

function itemText(part: Part, item: Item, t: (key: string, vars?: Record<string, unknown>) => string, lang: Lang): string {
  const out: string[] = [];
  const { attrs } = item;
  if (part.kind === 'numbers') out.push(formatFigure(attrs.figure ?? '', lang));
  if (part.kind === 'policy') out.push(attrs.region ?? '');
  if (item.headline) out.push(fragment(item.headline));
  if (part.kind === 'focus' && attrs.dek) out.push(fragment(`<p>${escapeHtml(attrs.dek)}</p>`));
  if (item.image) out.push([`[${item.image.alt}]`, item.image.caption].filter(Boolean).join('\n'));
  if (item.body) out.push(part.kind === 'quote' ? t('briefing.quoted', { text: fragment(item.body) }) : fragment(item.body));
  if (part.kind === 'quote') out.push(`– ${[attrs.by, attrs.when].filter(Boolean).join(', ')}`);
  if (part.kind === 'numbers') out.push(`${t('briefing.source')}: ${attrs.source ?? ''}`);
  if (part.kind === 'editorial') out.push([attrs.signature, attrs.role].filter(Boolean).join('\n'));
  if (item.why) out.push(`${t('briefing.whyItMatters')}\n${fragment(item.why)}`);
  if (item.about) out.push(`${t('briefing.whatItIsAbout')}\n${fragment(item.about)}`);
  if (item.link) out.push(linkLine(item.link.label, item.link.href));
  return out.filter(Boolean).join('\n\n');
}

export function footerText(translator: Translator, lang: Lang, impressum: string): string {
  const t = (key: string) => translator.t(lang, key);
  return [
    '-'.repeat(40),
    linkLine(t('footer.viewOnline'), mergeMarker('viewOnlineUrl')),
    linkLine(t('footer.preferences'), mergeMarker('preferencesUrl')),
    linkLine(t('footer.unsubscribe'), mergeMarker('unsubscribeUrl')),
    `${t('footer.forwarded')} ${linkLine(t('footer.subscribe'), mergeMarker('subscribeUrl'))}`,
    linkLine(t('footer.archive'), mergeMarker('archiveUrl')),
    '',
    t('footer.impressumTitle'),
    impressum,
  ].join('\n');
}

export interface TextOptions {
  /** Open with the greeting merge field, as the template's HTML does. @defaultValue true */
  greeting?: boolean;
}

/** Renders the plain-text part of one edition. */
export function renderText(doc: IssueDocument, translator: Translator, impressum: string, options: TextOptions = {}): string {
  const { lang, meta } = doc;
  const t = (key: string, vars?: Record<string, unknown>) => translator.t(lang, key, vars);
  const out: string[] = [];
  const number = meta.issue !== null ? t('briefing.issueNumber', { number: meta.issue }) : '';
  if (doc.parts.length) {
    const dateLine = [number, formatDate(meta.date, lang)].filter(Boolean).join(' · ');
    out.push([meta.title.toLocaleUpperCase(), meta.tagline, dateLine].filter(Boolean).join('\n'));
  } else {
    // An article: the publication's masthead first, then the article's own headline.
    const masthead = [t('common.publication'), number].filter(Boolean).join(' · ');
    const byline = [formatDate(meta.date, lang), meta.author ? t('article.byline', { author: meta.author }) : ''].filter(Boolean).join(' · ');
    const lines = [masthead, meta.tagline, '', meta.title.toLocaleUpperCase(), meta.dek, byline].filter((line, i) => line || i === 2);
    out.push(lines.flatMap((line) => (line ? wrap(line, TEXT_WIDTH) : [''])).join('\n').replace(/\n{3,}/g, '\n\n'));
  }
  if (options.greeting !== false) out.push(mergeMarker('greeting'));
  if (doc.parts.length) {
    for (const part of doc.parts) {
      const items = part.items.map((item) => itemText(part, item, t, lang));
      out.push(part.kind === 'footer' ? items.join('\n\n') : `${heading(t(`briefing.parts.${part.kind}`))}\n\n${items.join(`\n\n${'· '.repeat(3).trim()}\n\n`)}`);
    }
  } else {
    out.push(fragment(doc.bodyHtml));
  }
  out.push(footerText(translator, lang, impressum));
  return `${out.join('\n\n\n')}\n`;
}
