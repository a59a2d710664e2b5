import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { detectLanguage, editionLanguage } from '../../src/render/lint/rules/edition-language.ts';
import { doc, front, GERMAN, ENGLISH, issue } from './fixtures.ts';

describe('lint rule edition-language', () => {
  it('tells German from English prose, and declines to guess on a short note', () => {
    expect(detectLanguage(GERMAN)).toBe('de');
    expect(detectLanguage(ENGLISH)).toBe('en');
    expect(detectLanguage('Hello readers. Because it matters.')).toBeNull();
  });

  it('fails a German copy saved as en.md and passes real translations', () => {
    const ok = issue([doc('de', `${front('de')}\n${GERMAN}\n`), doc('en', `${front('en')}\n${ENGLISH}\n`)]);
    expect(editionLanguage.check(ok)).toEqual([]);
    const copy = issue([doc('de', `${front('de')}\n${GERMAN}\n`), doc('en', `${front('en')}\n${GERMAN}\n`)]);
    const findings = editionLanguage.check(copy) as { file: string; message: string }[];
    expect(findings).toHaveLength(1);
    expect(findings[0]!.file).toMatch(/en\.md$/);
    expect(findings[0]!.message).toMatch(/en\.md reads as German, but it is the English edition/);
  });
});

describe('lint rule edition-language on full-length issues', () => {
  const REPO = join(import.meta.dirname, '..', '..');
  const read = (path: string) => readFileSync(join(REPO, path), 'utf8');
  // The repo's samples and an article of real length (about 850 words, with a table).
  const GERMAN_FILES = ['issues/2026-02-15-chinas-ki-zentren/de.md', 'issues/2026-02-18-chinas-ki-landkarte/de.md', 'issues/2026-02-22-china-ai2x/de.md', 'test/fixtures/articles/wasserstoff-de.md'];

  for (const path of GERMAN_FILES) {
    it(`fails ${path} copied as en.md`, () => {
      const source = read(path).replace(/^languages: de\n/m, '');
      const copy = issue([doc('de', source), doc('en', source)]);
      const findings = editionLanguage.check(copy) as { file: string; message: string }[];
      expect(findings.map((f) => f.message)).toEqual([expect.stringMatching(/en\.md reads as German, but it is the English edition/)]);
    });
  }

  for (const slug of ['2026-02-15-chinas-ki-zentren', '2026-02-22-china-ai2x']) {
    it(`passes the real bilingual issue ${slug}`, () => {
      const both = issue([doc('de', read(`issues/${slug}/de.md`)), doc('en', read(`issues/${slug}/en.md`))]);
      expect(editionLanguage.check(both)).toEqual([]);
    });
  }

  it('stays quiet on a text that is half German, half English', () => {
    const mixed = [GERMAN, ENGLISH, GERMAN, ENGLISH].join('\n');
    expect(detectLanguage(mixed)).toBeNull();
  });
});
