import type { Greeting } from '../core/edition.ts';
import { DepescheError } from '../errors.ts';
import { escapeHtml, stripControl } from '../core/escape.ts';
import { publicUrls } from '../core/public-urls.ts';
import type { Lang } from '../core/lang.ts';

/**
 * Per-recipient values. Templates place a marker for each; the sender fills them.
 * Markers are plain ASCII that neither Markdown, Handlebars, MJML nor html-to-text
 * rewrite, so they survive the whole pipeline unchanged.
 */
export const MERGE_FIELDS = ['name', 'greeting', 'unsubscribeUrl', 'preferencesUrl', 'viewOnlineUrl', 'subscribeUrl', 'archiveUrl'] as const;
export type MergeField = (typeof MERGE_FIELDS)[number];
export type MergeValues = Record<MergeField, string>;

export function mergeMarker(field: MergeField): string {
  return `%%depesche.${field}%%`;
}

const markerPattern = /%%depesche\.([A-Za-z]+)%%/g;

/**
 * A document split once at its markers: `literals[i]` comes before `fields[i]`, and the
 * last literal ends it. Filling it for one recipient is one join over a short array.
 */
export interface MergeTemplate {
  literals: string[];
  fields: MergeField[];
}

export function compileMerge(document: string): MergeTemplate {
  const literals: string[] = [];
  const fields: MergeField[] = [];
  let last = 0;
  for (const match of document.matchAll(markerPattern)) {
    const field = match[1] as MergeField;
    if (!(MERGE_FIELDS as readonly string[]).includes(field)) {
      // Issue files cannot hold markers (content/load.ts refuses them), so one here came from a template.
      throw new DepescheError('E_TEMPLATE', `Unknown merge field marker ${match[0]}.`, {
        hint: `A template may use {{merge.<field>}} with these fields: ${MERGE_FIELDS.join(', ')}.`,
      });
    }
    literals.push(document.slice(last, match.index));
    fields.push(field);
    last = match.index + match[0].length;
  }
  literals.push(document.slice(last));
  return { literals, fields };
}

export type MergeEscape = 'html' | 'text';

/** Fills a compiled template; every value is stripped of control characters and, for HTML, escaped. */
export function fillMerge(template: MergeTemplate, values: MergeValues, escape: MergeEscape): string {
  const { literals, fields } = template;
  let out = literals[0]!;
  for (let i = 0; i < fields.length; i++) {
    const raw = stripControl(values[fields[i]!]);
    out += (escape === 'html' ? escapeHtml(raw) : raw) + literals[i + 1]!;
  }
  return out;
}

/** Values for build output and the preview, where there is no recipient. */
export function sampleMergeValues(publicUrl: string, slug: string, lang: Lang, greeting: Greeting, name = ''): MergeValues {
  const urls = publicUrls(publicUrl);
  return {
    name,
    greeting: greetingFor(greeting, name),
    unsubscribeUrl: urls.unsubscribe('preview'),
    preferencesUrl: urls.preferences('preview'),
    viewOnlineUrl: urls.edition(slug, lang),
    subscribeUrl: urls.subscribe(lang),
    archiveUrl: urls.archive(),
  };
}

/** "Hallo Anna," for a known name, the edition's anonymous greeting otherwise. */
export function greetingFor(greeting: Greeting, name: string): string {
  // A function replacement: a string one would read `$&`, `$'` and friends in the name as patterns.
  return name ? greeting.named.replace('{name}', () => name) : greeting.anonymous;
}
