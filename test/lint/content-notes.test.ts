import { describe, expect, it } from 'vitest';
import { contentNotes } from '../../src/render/lint/rules/content-notes.ts';
import { doc, front, issue } from './fixtures.ts';

describe('lint rule content (raw HTML and unsafe links)', () => {
  const source = `${front('de')}
Ein Absatz.

<iframe src="https://www.youtube.com/embed/x"></iframe>

<div style="color:red">Rot</div>

Ein Zeilenumbruch<br>mitten im Satz und ein [Trick](javascript:alert(1)).

![Pixel](data:image/png;base64,iVBORw0KGgo=)

Ein [sicherer Link](https://example.org/ok) und eine [Mail](mailto:redaktion@example.org).
`;

  it('names each with its line and says what to do', () => {
    const d = doc('de', source);
    const findings = contentNotes.check(issue([d])) as { rule: string; line: number; message: string; hint: string }[];
    const lines = source.split('\n');
    const at = (needle: string) => lines.findIndex((l) => l.includes(needle)) + 1;
    expect(findings.map((f) => [f.rule, f.line])).toEqual([
      ['raw-html', at('<iframe')],
      ['raw-html', at('<div style')],
      ['raw-html', at('<br>')],
      ['link-scheme', at('javascript:')],
      ['link-scheme', at('data:image')],
    ]);
    expect(findings[0]!.message).toMatch(/<iframe>/);
    expect(findings[0]!.hint).toMatch(/Link to the page/);
    expect(findings[2]!.hint).toMatch(/two spaces/);
  });

  it('renders them harmless: no tag, no javascript: or data: target reaches the HTML', () => {
    const { bodyHtml } = doc('de', source);
    expect(bodyHtml).not.toMatch(/<iframe|<div style|javascript:|data:image/);
    expect(bodyHtml).toContain('&lt;iframe');
    expect(bodyHtml).toContain('<span>Trick</span>');
    expect(bodyHtml).toContain('<a href="https://example.org/ok">');
  });
});

describe('lint rule content (footnotes)', () => {
  const source = `${front('de')}
Ein Satz mit Beleg[^a] und einer Fußnote ohne Text[^b].

Ein zweiter Absatz, der \`[^code]\` zeigt und auf [^a] noch einmal verweist.

[^a]: Die Quelle.

[^c]: Eine Notiz, auf die niemand verweist.
`;

  it('names a reference without a note (an error) and a note nobody refers to (a warning), each at its line', () => {
    const findings = contentNotes.check(issue([doc('de', source)])) as { severity: string; rule: string; line: number; message: string; hint: string; file: string }[];
    const lines = source.split('\n');
    const at = (needle: string) => lines.findIndex((l) => l.includes(needle)) + 1;
    expect(findings.map((f) => [f.severity, f.rule, f.line])).toEqual([
      ['warning', 'footnote', at('[^c]:')],
      ['error', 'footnote', at('Text[^b]')],
    ].sort((x, y) => (x[2] as number) - (y[2] as number)));
    const missing = findings.find((f) => f.severity === 'error')!;
    expect(missing.message).toMatch(/\[\^b\] has no note/);
    expect(missing.hint).toMatch(/\[\^b\]: …/);
    expect(missing.file).toMatch(/de\.md$/);
    expect(findings.find((f) => f.severity === 'warning')!.message).toMatch(/\[\^c\] is never referred to/);
  });
});
