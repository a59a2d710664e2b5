import { describe, expect, it } from 'vitest';
import { languages } from '../../src/render/lint/rules/languages.ts';
import { createCompiler } from '../../src/render/index.ts';
import { useScratchContent } from '../content-fixtures.ts';
import { doc, front, GERMAN, ENGLISH, issue } from './fixtures.ts';

describe('lint rule languages', () => {
  const de = (declared: string) => doc('de', `${front('de', 'article', `languages: ${declared}\n`)}\n${GERMAN}\n`);
  const en = (declared?: string) => doc('en', `${front('en', 'article', declared ? `languages: ${declared}\n` : '')}\n${ENGLISH}\n`);

  it('is quiet without a declaration, and with one that matches the files', () => {
    expect(languages.check(issue([en(), doc('de', `${front('de')}\n${GERMAN}\n`)]))).toEqual([]);
    expect(languages.check(issue([de('[de, en]'), en()]))).toEqual([]);
    expect(languages.check(issue([de('de')]))).toEqual([]);
  });

  it('fails a listed language without its file, at the languages: line', () => {
    const [finding] = languages.check(issue([de('[de, en]')])) as { severity: string; line: number; message: string }[];
    expect(finding).toMatchObject({ severity: 'error', line: 7 });
    expect(finding!.message).toMatch(/lists en, but there is no en\.md/);
  });

  it('fails two files that list different languages, naming both', () => {
    const [finding] = languages.check(issue([de('[de, en]'), en('en')])) as { file: string; related: { file: string }; message: string }[];
    expect(finding!.file).toMatch(/en\.md$/);
    expect(finding!.related.file).toMatch(/de\.md$/);
    expect(finding!.message).toMatch(/en\.md says `languages: en`, de\.md says `languages: de, en`/);
  });

  it('warns that a file left out of languages: is a draft that is not sent', () => {
    const [finding] = languages.check(issue([de('de'), en()], ['de'])) as { severity: string; file: string; message: string }[];
    expect(finding).toMatchObject({ severity: 'warning' });
    expect(finding!.message).toMatch(/en\.md is not in `languages: de`, so it is neither built nor sent/);
  });
});

describe('a draft left out of languages:', () => {
  const content = useScratchContent();
  it('does not stop the declared edition when it does not build yet, and lint says why', async () => {
    await content.current.write('issues/draft/de.md', `${front('de', 'article', 'languages: de\n')}\n${GERMAN}\n`);
    await content.current.write('issues/draft/en.md', `---\ntemplate: article\ntitle: "Half written\n---\n`);
    const compiler = createCompiler({ contentDir: content.current.dir });
    expect((await compiler.compile('draft')).map((e) => e.lang)).toEqual(['de']);
    const findings = await compiler.lint('draft');
    expect(findings.filter((f) => f.severity === 'error')).toEqual([]);
    expect(findings.find((f) => f.file?.endsWith('en.md'))).toMatchObject({ severity: 'warning', rule: 'compile', message: expect.stringMatching(/^A draft left out of `languages:` does not build yet: /) });
  });
});
