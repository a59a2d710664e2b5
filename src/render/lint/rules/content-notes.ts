import type { IssueRule } from '../rule.ts';

/**
 * What parsing noticed and rendered harmless: raw HTML, `javascript:` / `data:` links and
 * images. Each comes with the line it is on; see content/markdown.ts.
 */
export const contentNotes: IssueRule = {
  name: 'content',
  description: 'no raw HTML and no javascript:, data: or other non-web links, which readers would see as plain text',
  check({ docs }) {
    return docs.flatMap((doc) => doc.notes.map((note) => ({ severity: note.severity, rule: note.rule, message: note.message, hint: note.hint, file: doc.file, line: note.line, lang: doc.lang })));
  },
};
