import { readFile } from 'node:fs/promises';
import type { IssueDocument } from '../content/model.ts';
import { localeFile, type Translator } from '../i18n/index.ts';
import { clientSupport } from './caniemail.ts';
import type { CompiledEdition, Finding } from './compiler.ts';
import { LANGS, type Lang } from '../core/lang.ts';
import { escapeHtml } from '../core/escape.ts';
import { fillSample } from './sample.ts';

export interface LintContext {
  publicUrl: string;
  localesDir: string;
  translator: Translator;
}

/** Gmail clips messages from about 102 KB; stay below 100 KB, warn from 80 KB. */
export const SIZE_LIMIT = 100 * 1024;
export const SIZE_WARNING = 80 * 1024;

function decode(value: string): string {
  return value
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

/** 1-based line of the first source line containing `needle`, if any. */
function lineOf(lines: string[], needle: string): number | undefined {
  const index = lines.findIndex((line) => line.includes(needle));
  return index < 0 ? undefined : index + 1;
}

interface EditionInput {
  edition: CompiledEdition;
  doc: IssueDocument;
  html: string;
  lines: string[];
}

/** Rules on one edition's HTML, with sample merge values filled in. */
export function lintHtml({ edition, doc, html, lines }: EditionInput): Finding[] {
  const findings: Finding[] = [];
  const { lang } = edition;
  const file = doc.file;
  const add = (severity: Finding['severity'], rule: string, message: string, line?: number) =>
    findings.push({ severity, rule, message, file, lang, ...(line ? { line } : {}) });

  const bytes = Buffer.byteLength(html, 'utf8');
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  if (bytes >= SIZE_LIMIT) add('error', 'size', `The HTML is ${kb(bytes)}; Gmail clips mails from about 102 KB. Stay under ${kb(SIZE_LIMIT)}: shorten the issue or split it.`);
  else if (bytes >= SIZE_WARNING) add('warning', 'size', `The HTML is ${kb(bytes)}, close to the ${kb(SIZE_LIMIT)} limit where Gmail starts clipping.`);

  for (const match of html.matchAll(/<img\b[^>]*>/gi)) {
    const alt = /\balt="([^"]*)"/i.exec(match[0]);
    if (!alt || !alt[1]!.trim()) {
      const src = decode(/\bsrc="([^"]*)"/i.exec(match[0])?.[1] ?? '');
      add('error', 'img-alt', `The image ${src || '(no src)'} has no alt text. Write one: ![What it shows](${src || 'https://…'})`, src ? lineOf(lines, src) : undefined);
    }
  }

  if (!new RegExp(`<html\\b[^>]*\\blang="${lang}"`, 'i').test(html)) add('error', 'lang', `<html> lacks lang="${lang}"; the template's <mjml> tag needs lang="{{lang}}".`);
  const body = html.slice(html.search(/<body\b/i));
  if (!new RegExp(`<(div|table|center)\\b[^>]*\\blang="${lang}"`, 'i').test(body)) add('error', 'lang', `No wrapper inside <body> carries lang="${lang}".`);

  if (!edition.preheader.trim() || !html.includes(escapeHtml(edition.preheader).slice(0, 40))) {
    add('error', 'preheader', 'The mail has no preheader (the preview line after the subject). Set `preheader:` in the front matter and keep <mj-preview> in the template.', doc.metaLine('preheader'));
  }

  for (const match of html.matchAll(/<a\b[^>]*?\bhref="([^"]*)"/gi)) {
    const href = decode(match[1]!);
    if (!/^https?:\/\/[^/\s]+/i.test(href)) {
      add('error', 'link-absolute', `The link "${href}" is not an absolute http(s) URL; mail clients cannot resolve it. Write the full address, starting with https://.`, href ? lineOf(lines, `(${href}`) ?? lineOf(lines, href) : undefined);
    }
  }

  for (const match of html.matchAll(/<img\b[^>]*?\bsrc="([^"]*)"/gi)) {
    const src = decode(match[1]!);
    if (!/^https?:\/\/[^/\s]+/i.test(src)) {
      add('error', 'link-absolute', `The image "${src}" is not an absolute http(s) URL; mail clients cannot load it. Write the full address, starting with https://.`, src ? lineOf(lines, src) : undefined);
    }
  }

  const impressum = /<div class="impressum"[^>]*>([\s\S]*?)<\/div>/.exec(html);
  const impressumText = impressum ? decode(impressum[1]!.replace(/<[^>]+>/g, ' ')).replace(/\s+/g, ' ').trim() : '';
  if (impressumText.length < 40) {
    add('error', 'impressum', 'The Impressum is missing or empty; German law wants it in every issue. Keep it in the footer (footer.impressum in the locale files, or `impressum:` in the front matter).');
  }
  return findings;
}

/** DE and EN must say the same: same parts in the same order, same item counts, same links. */
export function lintParity(docs: IssueDocument[]): Finding[] {
  const findings: Finding[] = [];
  const [base, ...others] = docs;
  if (!base) return findings;
  for (const doc of others) {
    const add = (message: string, line?: number) => findings.push({ severity: 'error', rule: 'parity', message, file: doc.file, lang: doc.lang, ...(line ? { line } : {}) });
    const kinds = (d: IssueDocument) => d.parts.map((p) => p.kind).join(', ');
    if (kinds(base) !== kinds(doc)) {
      add(`The parts differ: ${base.lang}.md has [${kinds(base)}], ${doc.lang}.md has [${kinds(doc)}].`, doc.parts[0]?.line);
    } else {
      doc.parts.forEach((part, i) => {
        const other = base.parts[i]!;
        if (part.items.length !== other.items.length) {
          add(`"${part.kind}" has ${part.items.length} item(s) here but ${other.items.length} in ${base.lang}.md (line ${other.line}).`, part.line);
        }
      });
    }
    const length = Math.max(base.links.length, doc.links.length);
    for (let i = 0; i < length; i++) {
      if (base.links[i] !== doc.links[i]) {
        add(`Link ${i + 1} differs: ${base.lang}.md links to ${base.links[i] ?? '(nothing)'}, ${doc.lang}.md to ${doc.links[i] ?? '(nothing)'}. Both languages link to the same targets, in the same order.`);
        break;
      }
    }
  }
  return findings;
}

function flatKeys(value: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) flatKeys(child, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out.add(prefix);
  }
  return out;
}

/** Both locale files hold the same keys. */
export function lintLocales(translator: Translator, localesDir: string): Finding[] {
  const keys = Object.fromEntries(LANGS.map((lang) => [lang, flatKeys(translator.resources(lang))])) as Record<Lang, Set<string>>;
  const findings: Finding[] = [];
  for (const lang of LANGS) {
    for (const other of LANGS) {
      if (other === lang) continue;
      for (const key of keys[other]) {
        if (!keys[lang].has(key)) {
          findings.push({ severity: 'error', rule: 'locale-keys', message: `The key "${key}" is in ${other}.json but not in ${lang}.json.`, file: localeFile(localesDir, lang), lang });
        }
      }
    }
  }
  return findings;
}

export async function lintEditions(editions: CompiledEdition[], docs: IssueDocument[], ctx: LintContext): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const edition of editions) {
    const doc = docs.find((d) => d.lang === edition.lang)!;
    const { html } = fillSample(edition, ctx.publicUrl);
    const lines = (await readFile(doc.file, 'utf8')).split(/\r?\n/);
    findings.push(...lintHtml({ edition, doc, html, lines }));
    for (const issue of await clientSupport(html)) {
      findings.push({
        severity: 'warning',
        rule: 'client-support',
        message: `${issue.feature} is ${issue.support === 'none' ? 'not' : 'only partly'} supported by ${issue.clients.join(', ')} (caniemail).`,
        lang: edition.lang,
      });
    }
  }
  findings.push(...lintParity(docs), ...lintLocales(ctx.translator, ctx.localesDir));
  return findings;
}
