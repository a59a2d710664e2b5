import { createMarkdown } from '../../src/content/markdown.ts';
import { parseIssue, type BodyKind } from '../../src/content/load.ts';
import type { IssueDocument } from '../../src/content/model.ts';
import type { Lang } from '../../src/core/lang.ts';
import type { EditionInput, IssueInput } from '../../src/render/lint/rule.ts';
import type { CompiledEdition } from '../../src/render/edition.ts';

const md = createMarkdown();
const TEMPLATES = new Map<string, BodyKind>([
  ['briefing', 'blocks'],
  ['article', 'markdown'],
]);

/** Front matter for a fixture; `extra` lines go before the closing ---. */
export const front = (lang: Lang, template = 'article', extra = '') => `---
template: ${template}
title: Titel ${lang}
subject: Betreff ${lang}
preheader: Vorschau ${lang}
date: 2026-03-01
${extra}---
`;

/** One parsed language file, as the compiler would parse it. */
export function doc(lang: Lang, source: string, options: { mtimeMs?: number; file?: string } = {}): IssueDocument {
  return parseIssue(md, 'fixture', lang, { file: options.file ?? `issues/fixture/${lang}.md`, source, mtimeMs: options.mtimeMs ?? 0 }, TEMPLATES);
}

export function issue(docs: IssueDocument[], editions = docs.map((d) => d.lang)): IssueInput {
  return { slug: 'fixture', docs, editions };
}

/** An edition rule's input around hand-made HTML. */
export function edition(html: string, options: { lang?: Lang; preheader?: string; lines?: string[] } = {}): EditionInput {
  const lang = options.lang ?? 'de';
  const compiled = { lang, preheader: options.preheader ?? 'Vorschau', slug: 'fixture' } as CompiledEdition;
  const parsed = { file: `issues/fixture/${lang}.md`, lang, metaLine: (key: string) => (key === 'preheader' ? 5 : 1) } as unknown as IssueDocument;
  return { edition: compiled, doc: parsed, html, lines: options.lines ?? [] };
}

/** A page that passes every edition rule; `body` goes inside the lang wrapper. */
export const IMPRESSUM = `<div class="impressum">${'Herausgeber Beispiel GmbH, Musterweg 1, Berlin. '.repeat(2)}</div>`;
export const page = (body: string, head = 'lang="de"') => `<!doctype html><html ${head}><body><div lang="de">Vorschau${body}${IMPRESSUM}</div></body></html>`;

/** Long enough German and English prose for the language detector. */
export const GERMAN = 'Chinas große Sprachmodelle kommen aus wenigen Städten. In Hangzhou sitzt DeepSeek, bekannt für offene und sparsam trainierte Modelle. In Peking setzt Zhipu AI mit seiner GLM-Reihe auf multimodale Fähigkeiten und auf Anwendungen für Unternehmen, die ihre Daten nicht aus der Hand geben wollen.';
export const ENGLISH = "China's large language models come from a handful of cities. DeepSeek, known for open and frugally trained models, is based in Hangzhou. In Beijing, Zhipu AI builds its GLM series for multimodal work and for companies that want to keep their data in their own hands.";
