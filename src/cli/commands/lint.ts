import type { Command } from 'commander';
import type { Finding } from '../../render/index.ts';
import { action } from '../program.ts';
import { compilerFor, displayPath, reportFailure, selectSlugs, type ContentOptions } from './build.ts';

function formatFinding(finding: Finding): string {
  const where = finding.file ? `${displayPath(finding.file)}${finding.line ? `:${finding.line}` : ''}: ` : '';
  const lang = finding.lang ? ` [${finding.lang}]` : '';
  return `${finding.severity}${lang} ${where}${finding.message} (${finding.rule})`;
}

export function register(program: Command): void {
  program
    .command('lint')
    .description('Check issues for email correctness: size, lang, alt texts, preheader, links, DE/EN parity, Impressum, client CSS support')
    .argument('[slug...]', 'issues to check (folder names under issues/); all when omitted')
    .option('-d, --dir <dir>', 'content directory holding issues/, templates/ and locales/ (default: CONTENT_DIR or .)')
    .action(
      action(async (slugs: string[], options: ContentOptions) => {
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
      }),
    );
}
