import { describe, expect, it } from 'vitest';
import { align, paragraphsDiffer, parity } from '../../src/render/lint/rules/parity.ts';
import { doc, front, issue } from './fixtures.ts';

// Two editions of one article: the English is a faithful translation of the German.
const DE = `
Chinas Provinzen werben um KI-Firmen. Jede verspricht Rechenleistung und Geld.

## Peking

Die Hauptstadt will bis 2027 ein Zentrum für KI werden.

- Rechenzentren
- Einhorn-Start-ups

## Guangdong

Die Provinz setzt auf KI im Verkehr, vor allem auf fahrerlose Lkw.

| Provinz | Datum | Schwerpunkt |
| --- | --- | --- |
| Guangdong | 21.01.2026 | Verkehr |
| Sichuan | 19.01.2026 | 25 Felder |

## Zhejiang

Heimat von DeepSeek und Alibaba. Mehr dazu [beim Ministerium](https://example.org/zhejiang).

> Drei digitale Cluster sollen entstehen.
`;
const EN = `
China's provinces court AI companies. Each promises computing power and money.

## Beijing

The capital wants to become an AI hub by 2027.

- Data centres
- Unicorn start-ups

## Guangdong

The province bets on AI in transport, above all on driverless lorries.

| Province | Date | Focus |
| --- | --- | --- |
| Guangdong | 21 Jan 2026 | Transport |
| Sichuan | 19 Jan 2026 | 25 fields |

## Zhejiang

Home of DeepSeek and Alibaba. More [from the ministry](https://example.org/zhejiang).

> Three digital clusters are to be built.
`;

type Found = { file: string; line?: number; related: { file: string; line?: number }; message: string };
const check = (de: string, en: string, mtimes = { de: 0, en: 0 }) =>
  parity.check(issue([doc('de', front('de') + de, { mtimeMs: mtimes.de }), doc('en', front('en') + en, { mtimeMs: mtimes.en })])) as Found[];
const lineIn = (text: string, needle: string) => (front('de') + text).split('\n').findIndex((l) => l.includes(needle)) + 1;

describe('lint rule parity', () => {
  it('passes a faithful translation', () => {
    expect(check(DE, EN)).toEqual([]);
  });

  it('runs only when both editions are sent', () => {
    const only = issue([doc('de', front('de') + DE), doc('en', front('en') + 'Draft.\n')], ['de']);
    expect(parity.check(only)).toEqual([]);
  });

  it('names a missing section, not every section after it, with the line in both files', () => {
    const en = EN.replace(/## Guangdong[\s\S]*?(?=## Zhejiang)/, '');
    const findings = check(DE, en);
    expect(findings).toHaveLength(1);
    expect(findings[0]!.message).toBe(`The section "## Guangdong" (de.md:${lineIn(DE, '## Guangdong')}) has no counterpart in en.md.`);
    expect(findings[0]!.file).toMatch(/en\.md$/);
    expect(findings[0]!.related).toEqual({ file: 'issues/fixture/de.md', line: lineIn(DE, '## Guangdong') });
  });

  it('compares tables by columns and rows, lists by items, and quotes', () => {
    const en = EN.replace('| Sichuan | 19 Jan 2026 | 25 fields |\n', '').replace('- Unicorn start-ups\n', '').replace('> Three digital clusters are to be built.\n', 'Three clusters.\n');
    const messages = check(DE, en).map((f) => f.message);
    expect(messages).toEqual([
      expect.stringMatching(/lists under "## Peking" differ: 2 bulleted item\(s\) in de\.md, 1 bulleted item\(s\) in en\.md/),
      expect.stringMatching(/tables under "## Guangdong" differ: 3 columns × 2 rows in de\.md, 3 columns × 1 rows in en\.md/),
      expect.stringMatching(/"## Zhejiang" has 1 quote\(s\) in de\.md .* but 0 in en\.md/),
    ]);
  });

  it('allows a merged paragraph but not a dropped half', () => {
    expect(paragraphsDiffer(5, 4)).toBe(false);
    expect(paragraphsDiffer(2, 1)).toBe(false);
    expect(paragraphsDiffer(6, 3)).toBe(true);
    expect(paragraphsDiffer(1, 0)).toBe(true);
  });

  it('points a changed link at the file saved last, with the line in both', () => {
    const de = DE.replace('https://example.org/zhejiang', 'https://example.org/zhejiang-neu');
    const [finding] = check(de, EN, { de: 10_000, en: 0 });
    expect(finding!.message).toBe(`A link differs: de.md:${lineIn(de, 'zhejiang-neu')} links to https://example.org/zhejiang-neu, en.md:${lineIn(EN, 'from the ministry')} to https://example.org/zhejiang.`);
    expect(finding!.file).toMatch(/de\.md$/);
    expect(finding!.line).toBe(lineIn(de, 'zhejiang-neu'));
    expect(finding!.related).toEqual({ file: 'issues/fixture/en.md', line: lineIn(EN, 'from the ministry') });
    // Saved at the same time: the translation is the one to check.
    expect(check(de, EN)[0]!.file).toMatch(/en\.md$/);
  });

  it('compares briefing parts and their items', () => {
    const block = (n: number) => `::: news\n## Nachricht ${n}\n\nText ${n}.\n\n+++ why\nGrund.\n+++\n:::\n\n`;
    const findings = parity.check(issue([doc('de', front('de', 'briefing') + block(1) + block(2)), doc('en', front('en', 'briefing') + block(1))])) as Found[];
    expect(findings[0]!.message).toMatch(/"news" has 2 item\(s\) in de\.md but 1 in en\.md/);
  });
});

describe('align', () => {
  it('pairs equal items in order and leaves the rest unpaired', () => {
    expect(align(['a', 'b', 'c', 'd'], ['a', 'c', 'd'], (x, y) => (x === y ? 1 : -1))).toEqual([
      [0, 0],
      [1, null],
      [2, 1],
      [3, 2],
    ]);
  });
});
