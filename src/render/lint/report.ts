import { isAbsolute, relative } from 'node:path';
import { DepescheError } from '../../errors.ts';
import type { Finding } from './finding.ts';

/**
 * Findings as people read them, the same in `lint`, `send`, `publish` and the ops API:
 * the path relative to where the command runs, the line, the message, the rule, and
 * what to do on the next line.
 */

/** A content path as an editor types it: relative to the working directory when inside it. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : file;
}

/** What a finding needs to be shown; the campaign code sees only this much of it. */
export type FindingText = Pick<Finding, 'severity' | 'message'> & Partial<Omit<Finding, 'severity' | 'message'>>;

function where(file: string | undefined, line: number | undefined): string {
  return file ? `${displayPath(file)}${line ? `:${line}` : ''}` : '';
}

/**
 * `error [en] issues/x/en.md:12: message (rule)`, then the other place it concerns and
 * what to do. `label: false` leaves out severity and language, for a caller that prints
 * its own `warning: ` in front.
 */
export function formatFinding(finding: FindingText, options: { label?: boolean } = {}): string {
  const at = where(finding.file, finding.line);
  const label = options.label === false ? '' : `${finding.severity}${finding.lang ? ` [${finding.lang}]` : ''} `;
  const lines = [`${label}${at ? `${at}: ` : ''}${finding.message}${finding.rule ? ` (${finding.rule})` : ''}`];
  if (finding.related) lines.push(`  ↔ ${where(finding.related.file, finding.related.line)}`);
  if (finding.hint) lines.push(`  → ${finding.hint}`);
  return lines.join('\n');
}

/** Refuses to go on (`sending`, `publishing`) while the findings hold errors, listing each as lint does. */
export function refuseLintErrors(slug: string, findings: FindingText[], doing: string): void {
  const errors = findings.filter((f) => f.severity === 'error');
  if (errors.length === 0) return;
  const lines = errors.map((f) => formatFinding(f, { label: false }).replace(/^/gm, '  '));
  throw new DepescheError('E_LINT', `Issue ${slug} has ${errors.length} lint error(s); not ${doing}:\n${lines.join('\n')}`, {
    hint: `Fix them and check with \`depesche lint ${slug}\`.`,
  });
}
