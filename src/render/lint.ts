import type { IssueDocument } from '../content/model.ts';
import type { Translator } from '../i18n/index.ts';
import type { CompiledEdition, Finding } from './compiler.ts';

export interface LintContext {
  publicUrl: string;
  localesDir: string;
  translator: Translator;
}

export async function lintEditions(_editions: CompiledEdition[], _docs: IssueDocument[], _ctx: LintContext): Promise<Finding[]> {
  return [];
}
