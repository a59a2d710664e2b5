import type { Finding } from '../../render/index.ts';
import { formatFinding } from '../../render/lint/report.ts';
import { compilerFor, reportFailure, selectSlugs, type ContentOptions } from './build.ts';

export { formatFinding };

function print(prefix: string, findings: Finding[], counts: { errors: number; warnings: number }): void {
  for (const finding of findings) {
    if (finding.severity === 'error') counts.errors++;
    else counts.warnings++;
    (finding.severity === 'error' ? process.stderr : process.stdout).write(`${prefix}${formatFinding(finding)}\n`);
  }
}

/** `depesche lint` (options in ../registry.ts). */
export async function lint(slugs: string[], options: ContentOptions & { templates?: boolean }): Promise<number> {
  const { compiler, contentDir } = compilerFor(options);
  const counts = { errors: 0, warnings: 0 };
  if (options.templates) {
    const templates = await compiler.listTemplates();
    const findings = await compiler.lintTemplates();
    print('', findings, counts);
    process.stdout.write(`templates ${templates.map((t) => t.name).join(', ')}: ${counts.errors} error(s), ${counts.warnings} warning(s)\n`);
    return counts.errors ? 1 : 0;
  }
  const selected = await selectSlugs(compiler, slugs);
  if (selected.length === 0) process.stdout.write(`No issues under ${contentDir}/issues/ yet.\n`);
  for (const slug of selected) {
    let findings: Finding[];
    try {
      findings = await compiler.lint(slug);
    } catch (error) {
      counts.errors++;
      reportFailure(slug, error);
      continue;
    }
    print(`${slug}: `, findings, counts);
    if (!findings.some((f) => f.severity === 'error')) process.stdout.write(`${slug}: ok${findings.length ? ` (${findings.length} warning(s))` : ''}\n`);
  }
  process.stdout.write(`${counts.errors} error(s), ${counts.warnings} warning(s)\n`);
  return counts.errors ? 1 : 0;
}
