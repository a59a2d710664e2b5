import { fileName, type IssueRule } from '../rule.ts';

export const emptyBody: IssueRule = {
  name: 'empty-body',
  description: 'every edition has a text below its front matter',
  check({ docs }) {
    return docs
      .filter((doc) => doc.outline.words === 0 && doc.outline.sections.every((s) => s.images.length === 0))
      .map((doc) => ({
        severity: 'error' as const,
        rule: 'empty-body',
        file: doc.file,
        line: doc.outline.sections[0]?.line ?? 1,
        lang: doc.lang,
        message: `${fileName(doc.file)} has no text below its front matter; its readers would get only the greeting and the footer.`,
        hint: `Write the text, or delete ${fileName(doc.file)} (and take ${doc.lang} out of \`languages:\`) to send the issue without that edition.`,
      }));
  },
};
