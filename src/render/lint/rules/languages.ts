import { fileName, type IssueRule } from '../rule.ts';
import type { Finding } from '../finding.ts';

/**
 * `languages:` in the front matter says which editions an issue is sent in. Every
 * file that states it must state the same; each listed language needs its file; a file
 * it leaves out is a draft that is neither built nor sent.
 */
export const languages: IssueRule = {
  name: 'languages',
  description: 'the editions named in `languages:` exist, and every file that names them agrees',
  check({ docs }) {
    const findings: Finding[] = [];
    const declaring = docs.filter((doc) => doc.meta.languages);
    const first = declaring[0];
    if (!first) return findings;
    const declared = first.meta.languages!;
    const list = (langs: readonly string[]) => langs.join(', ');
    for (const doc of declaring.slice(1)) {
      if (list(doc.meta.languages!) !== list(declared)) {
        findings.push({
          severity: 'error',
          rule: 'languages',
          file: doc.file,
          line: doc.metaLine('languages'),
          lang: doc.lang,
          related: { file: first.file, line: first.metaLine('languages') },
          message: `${fileName(doc.file)} says \`languages: ${list(doc.meta.languages!)}\`, ${fileName(first.file)} says \`languages: ${list(declared)}\`.`,
          hint: 'Both files of an issue list the same languages; or state it in one file only.',
        });
      }
    }
    for (const lang of declared) {
      if (docs.some((doc) => doc.lang === lang)) continue;
      findings.push({
        severity: 'error',
        rule: 'languages',
        file: first.file,
        line: first.metaLine('languages'),
        lang,
        message: `\`languages:\` lists ${lang}, but there is no ${lang}.md.`,
        hint: `Write ${lang}.md next to ${fileName(first.file)}, or take ${lang} out of \`languages:\` to send the issue without it.`,
      });
    }
    for (const doc of docs) {
      if (declared.includes(doc.lang)) continue;
      findings.push({
        severity: 'warning',
        rule: 'languages',
        file: doc.file,
        line: 1,
        lang: doc.lang,
        related: { file: first.file, line: first.metaLine('languages') },
        message: `${fileName(doc.file)} is not in \`languages: ${list(declared)}\`, so it is neither built nor sent.`,
        hint: `Add ${doc.lang} to \`languages:\` when the ${doc.lang} edition is ready.`,
      });
    }
    return findings;
  },
};
