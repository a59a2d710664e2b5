import type { Finding } from './finding.ts';
import type { EditionInput, EditionRule, IssueInput, IssueRule, Rule, SharedInput, SharedRule, TemplateInput, TemplateRule } from './rule.ts';
import { contentNotes } from './rules/content-notes.ts';
import { editionLanguage } from './rules/edition-language.ts';
import { emptyBody } from './rules/empty-body.ts';
import { impressum } from './rules/impressum.ts';
import { imgAlt } from './rules/img-alt.ts';
import { langAttr } from './rules/lang-attr.ts';
import { languages } from './rules/languages.ts';
import { linkAbsolute } from './rules/link-absolute.ts';
import { localeKeys } from './rules/locale-keys.ts';
import { parity } from './rules/parity.ts';
import { preheader } from './rules/preheader.ts';
import { size } from './rules/size.ts';
import { clientSupport } from './rules/client-support.ts';
import { styleStripped } from './rules/style-stripped.ts';
import { tableWidth } from './rules/table-width.ts';

export type { Finding } from './finding.ts';

/**
 * Every lint rule, in the order findings are listed. Each is one file under rules/
 * with its own fixture test (test/lint/); each returns `Finding`s.
 *
 * An issue's lint runs only what the issue's own files cause: the issue rules on its
 * parsed files, the edition rules on each built edition. What the templates and locale
 * files cause is the same for every issue, so it is reported once, by
 * `depesche lint --templates` and the preview's template view.
 */

/** On the issue's parsed files. */
export const ISSUE_RULES: readonly IssueRule[] = [contentNotes, emptyBody, languages, editionLanguage, parity, tableWidth];

/** On each built edition's HTML. */
export const EDITION_RULES: readonly EditionRule[] = [size, imgAlt, langAttr, preheader, linkAbsolute, impressum];

/** On each template, built with the probe issue. */
export const TEMPLATE_RULES: readonly TemplateRule[] = [clientSupport, styleStripped];

/** On what all templates share (the locale files), once. */
export const SHARED_RULES: readonly SharedRule[] = [localeKeys];

export const ALL_RULES: readonly Rule<never>[] = [...ISSUE_RULES, ...EDITION_RULES, ...TEMPLATE_RULES, ...SHARED_RULES] as Rule<never>[];

const bySeverity = (a: Finding, b: Finding) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1);

export async function lintIssue(issue: IssueInput, editions: readonly EditionInput[]): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const rule of ISSUE_RULES) findings.push(...(await rule.check(issue)));
  for (const edition of editions) for (const rule of EDITION_RULES) findings.push(...(await rule.check(edition)));
  return findings.sort(bySeverity);
}

export async function lintTemplate(input: TemplateInput): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const rule of TEMPLATE_RULES) findings.push(...(await rule.check(input)));
  return findings.sort(bySeverity);
}

export async function lintShared(input: SharedInput): Promise<Finding[]> {
  const findings: Finding[] = [];
  for (const rule of SHARED_RULES) findings.push(...(await rule.check(input)));
  return findings;
}
