import { compile } from 'html-to-text';
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
const toText = compile({
  wordwrap: 76,
  selectors: [
    { selector: 'a', options: { hideLinkHrefIfSameAsText: true, linkBrackets: ['<', '>'] } },
    { selector: 'h1', options: { uppercase: false } },
    { selector: 'h2', options: { uppercase: false } },
    { selector: 'h3', options: { uppercase: false } },
    { selector: 'h4', options: { uppercase: false } },
    { selector: 'table', format: 'dataTable', options: { uppercaseHeaderCells: false, maxColumnWidth: 30 } },
  ],
});

/** Block HTML from markdown-it as wrapped plain text. */
export function fragment(html: string): string {
  return html.trim() ? toText(html).trim() : '';
}

function heading(label: string): string {
  const upper = label.toLocaleUpperCase();
  return `${upper}\n${'='.repeat(Math.min(upper.length, 76))}`;
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
  if (item.image) out.push(`[${item.image.alt}]${item.image.caption ? ` ${item.image.caption}` : ''}`);
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

/** Renders the plain-text part of one edition. */
export function renderText(doc: IssueDocument, translator: Translator, impressum: string): string {
  const { lang, meta } = doc;
  const t = (key: string, vars?: Record<string, unknown>) => translator.t(lang, key, vars);
  const out: string[] = [];
  const dateLine = [meta.issue !== null ? t('briefing.issueNumber', { number: meta.issue }) : '', formatDate(meta.date, lang)].filter(Boolean).join(' · ');
  out.push([meta.title.toLocaleUpperCase(), meta.tagline || meta.dek, dateLine, meta.author ? t('article.byline', { author: meta.author }) : ''].filter(Boolean).join('\n'));
  out.push(mergeMarker('greeting'));
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
