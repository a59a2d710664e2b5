import { describe, expect, it } from 'vitest';
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
