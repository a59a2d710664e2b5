import type { Finding } from '../../render/index.ts';
import { compilerFor, displayPath, reportFailure, selectSlugs, type ContentOptions } from './build.ts';

function formatFinding(finding: Finding): string {
  const where = finding.file ? `${displayPath(finding.file)}${finding.line ? `:${finding.line}` : ''}: ` : '';
  const lang = finding.lang ? ` [${finding.lang}]` : '';
  return `${finding.severity}${lang} ${where}${finding.message} (${finding.rule})`;
}

/** `depesche lint` (options in ../registry.ts). */
export async function lint(slugs: string[], options: ContentOptions): Promise<number> {
  const { compiler } = compilerFor(options);
  let errors = 0;
  let warnings = 0;
  for (const slug of await selectSlugs(compiler, slugs)) {
    let findings: Finding[];
    try {
      findings = await compiler.lint(slug);
    } catch (error) {
      errors++;
      reportFailure(slug, error);
      continue;
    }
    for (const finding of findings) {
      if (finding.severity === 'error') errors++;
      else warnings++;
      (finding.severity === 'error' ? process.stderr : process.stdout).write(`${slug}: ${formatFinding(finding)}\n`);
    }
    if (!findings.some((f) => f.severity === 'error')) process.stdout.write(`${slug}: ok${findings.length ? ` (${findings.length} warning(s))` : ''}\n`);
  }
  process.stdout.write(`${errors} error(s), ${warnings} warning(s)\n`);
  return errors ? 1 : 0;
}
