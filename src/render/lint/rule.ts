import type { IssueDocument } from '../../content/model.ts';
import type { Lang } from '../../core/lang.ts';
import type { Translator } from '../../i18n/index.ts';
import type { CompiledEdition } from '../edition.ts';
import type { Template } from '../templates.ts';
import type { Finding } from './finding.ts';

/** One edition of an issue, built, with sample recipient values filled in. */
export interface EditionInput {
  edition: CompiledEdition;
  doc: IssueDocument;
  /** The HTML as a reader gets it (sample links, no markers). */
  html: string;
  /** The source file's lines, for rules that point at the line of a URL. */
  lines: readonly string[];
}

/** A whole issue: every language file it has, and the editions it is sent in. */
export interface IssueInput {
  slug: string;
  /** Every language file in the folder, parsed, in LANGS order. */
  docs: readonly IssueDocument[];
  /** The languages the issue is sent in (declared in `languages:`, or every file). */
  editions: readonly Lang[];
}

/** A template, rendered with the built-in probe issue that uses every part and Markdown feature. */
export interface TemplateInput {
  template: Template;
  /** The probe, built in every language. */
  probes: readonly { edition: CompiledEdition; html: string }[];
  translator: Translator;
  localesDir: string;
}

/** What every template shares: the locale files. */
export interface SharedInput {
  translator: Translator;
  localesDir: string;
}

/** A lint rule: a name, what it checks, and the check. One rule per file under rules/. */
export interface Rule<Input> {
  name: string;
  /** One line for `depesche lint --help` and the README. */
  description: string;
  check(input: Input): Finding[] | Promise<Finding[]>;
}

export type EditionRule = Rule<EditionInput>;
export type IssueRule = Rule<IssueInput>;
export type TemplateRule = Rule<TemplateInput>;
export type SharedRule = Rule<SharedInput>;

/** 1-based line of the first source line containing `needle`, if any. */
export function lineOf(lines: readonly string[], needle: string): number | undefined {
  const index = lines.findIndex((line) => line.includes(needle));
  return index < 0 ? undefined : index + 1;
}

export function decodeEntities(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** "de.md", as messages name an edition's file. */
export function fileName(file: string): string {
  return file.split(/[\\/]/).pop() ?? file;
}
