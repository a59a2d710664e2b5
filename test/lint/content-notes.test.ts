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
