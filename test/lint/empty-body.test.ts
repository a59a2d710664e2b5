import { describe, expect, it } from 'vitest';
import { emptyBody } from '../../src/render/lint/rules/empty-body.ts';
import { doc, front, GERMAN, issue } from './fixtures.ts';

describe('lint rule empty-body', () => {
  it('fails an edition with front matter and nothing below it', () => {
    const findings = emptyBody.check(issue([doc('de', `${front('de')}\n${GERMAN}\n`), doc('en', `${front('en')}\n\n`)])) as { file: string; message: string }[];
    expect(findings).toHaveLength(1);
    expect(findings[0]!.file).toMatch(/en\.md$/);
    expect(findings[0]!.message).toMatch(/en\.md has no text below its front matter/);
  });

  it('counts a briefing whose blocks hold text, and an image-only body, as not empty', () => {
    const briefing = `${front('de', 'briefing')}\n::: footer\nNur eine Notiz.\n:::\n`;
    expect(emptyBody.check(issue([doc('de', briefing)]))).toEqual([]);
    expect(emptyBody.check(issue([doc('de', `${front('de')}\n![Karte](https://example.org/karte.png)\n`)]))).toEqual([]);
  });
});
