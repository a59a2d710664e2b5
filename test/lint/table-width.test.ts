import { describe, expect, it } from 'vitest';
import { minTableWidth, PHONE_TEXT_WIDTH } from '../../src/content/table-width.ts';
import { tableWidth } from '../../src/render/lint/rules/table-width.ts';
import { doc, front, issue } from './fixtures.ts';

const seven = `| Modell | Anbieter | Sitz | Veröffentlicht | Teilnehmer | Schwerpunkt | Offenheit |
| --- | --- | --- | --- | --- | --- | --- |
| DeepSeek-V2 | DeepSeek | Hangzhou | 2024 | Unternehmen | Effizienz | offen |
`;
const two = `| Jahr | Summe |
| --- | ---: |
| 2025 | 850 |
`;

describe('lint rule table-width', () => {
  it('estimates the narrowest width a table can take without breaking a word', () => {
    const wide = doc('de', `${front('de')}\n${seven}`).outline.sections[0]!.tables[0]!;
    const narrow = doc('de', `${front('de')}\n${two}`).outline.sections[0]!.tables[0]!;
    expect(minTableWidth(wide)).toBeGreaterThan(PHONE_TEXT_WIDTH * 1.5);
    expect(minTableWidth(narrow)).toBeLessThan(PHONE_TEXT_WIDTH / 2);
  });

  it('warns about a 7-column table at its line, and not about a 2-column one', () => {
    const source = `${front('de')}\nText.\n\n${seven}\n${two}`;
    const findings = tableWidth.check(issue([doc('de', source)])) as { severity: string; line: number; message: string }[];
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'warning', line: source.split('\n').indexOf(seven.split('\n')[0]!) + 1 });
    expect(findings[0]!.message).toMatch(/7 columns.*scrolls sideways/);
  });
});
