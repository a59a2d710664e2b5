import { describe, expect, it } from 'vitest';
import { parseFreeForm as parseFree, parseParts as parseBlocks } from '../src/content/blocks.ts';
import { createMarkdown, parseMarkdown } from '../src/content/markdown.ts';
import { DepescheError } from '../src/errors.ts';
import { BODY } from './content-fixtures.ts';

const md = createMarkdown();
// Body line 0 is file line 11 when 10 lines of front matter come first.
const OFFSET = 10;
const parseParts = (markdown: typeof md, body: string, file: string, offset: number) => parseBlocks(markdown, parseMarkdown(markdown, body).tokens, body, file, offset);
const parseFreeForm = (markdown: typeof md, body: string, file: string, offset: number) => parseFree(markdown, parseMarkdown(markdown, body).tokens, body, file, offset);

function errorOf(body: string): DepescheError {
  try {
    parseParts(md, body, 'de.md', OFFSET);
  } catch (error) {
    if (error instanceof DepescheError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('block syntax', () => {
  it('reads parts, items, fields, headline and link', () => {
    const parts = parseParts(md, BODY, 'de.md', OFFSET);
    expect(parts.map((p) => [p.kind, p.items.length])).toEqual([
      ['editorial', 1],
      ['news', 2],
    ]);
    const [editorial, news] = parts;
    expect(editorial!.items[0]!.attrs).toEqual({ signature: 'Ada', role: 'Editor' });
    const first = news!.items[0]!;
    expect(first.headline).toBe('First item');
    expect(first.body).toBe('<p>Body of the first item.</p>\n');
    expect(first.why).toBe('<p>Because it matters.</p>\n');
    expect(first.link).toEqual({ label: 'Read', href: 'https://example.org/one', line: OFFSET + 15 });
    expect(news!.items[1]!.link).toBeNull();
    expect(first.line).toBe(OFFSET + 6);
  });

  it('reads every part of the model newsletter', () => {
    const body = `
::: focus dek="Dek"
## Head
Text
+++ why
Why
+++
[More](https://example.org/f)
:::

::: quote by="Someone" when="2026"
Words.
:::

::: number figure="6000" source="MIIT"
Companies.
:::

::: policy region="Guangdong"
News.
+++ about
About.
+++
:::

::: radar
Item.
+++ why
Why.
+++
:::

::: deepdive
## Deep

![A robot](https://example.org/r.png "Caption")

Teaser.

[Read](https://example.org/d)
:::

::: footer
A note.
:::
`;
    const parts = parseParts(md, body, 'de.md', 0);
    expect(parts.map((p) => p.kind)).toEqual(['focus', 'quote', 'numbers', 'policy', 'radar', 'deepdive', 'footer']);
    expect(parts[0]!.items[0]!.attrs.dek).toBe('Dek');
    expect(parts[2]!.items[0]!.attrs).toEqual({ figure: '6000', source: 'MIIT' });
    expect(parts[3]!.items[0]!.about).toContain('About.');
    expect(parts[5]!.items[0]!.image).toMatchObject({ src: 'https://example.org/r.png', alt: 'A robot', caption: 'Caption' });
    expect(parts[5]!.items[0]!.body).toContain('Teaser.');
    expect(parts[5]!.items[0]!.body).not.toContain('<img');
  });

  const cases: [string, string, number, RegExp][] = [
    ['unknown block', '::: bogus\nText\n:::\n', 1, /Unknown block "::: bogus"/],
    ['unclosed block', '\n::: editorial signature="A"\nText\n', 2, /"::: editorial" is not closed/],
    ['block opened inside an unclosed block', '::: editorial signature="A"\nText\n\n::: news\n## H\nB\n:::\n', 4, /"::: news" starts inside "::: editorial" \(line 11\)/],
    ['missing required field', '::: news\n## H\nBody\n:::\n', 1, /::: news is missing "\+\+\+ why"/],
    ['missing headline', '::: news\nBody\n+++ why\nW\n+++\n:::\n', 1, /missing its headline/],
    ['missing attribute', '::: quote\nWords\n:::\n', 1, /needs the attribute by="…"/],
    ['unknown attribute', '::: quote by="X" colour="red"\nWords\n:::\n', 1, /has no attribute "colour"/],
    ['unclosed field', '::: news\n## H\nB\n+++ why\nW\n:::\n', 4, /"\+\+\+ why" is not closed/],
    ['field not allowed here', '::: policy region="R"\nB\n+++ why\nW\n+++\n:::\n', 3, /has no field "\+\+\+ why"/],
    ['text outside a block', '\nLoose paragraph.\n', 2, /Text outside a block/],
    ['stray closing marker', '::: quote by="X"\nW\n:::\n:::\n', 4, /closing ::: without an open block/],
    ['second focus', '::: quote by="X"\nW\n:::\n::: quote by="Y"\nV\n:::\n', 4, /second ::: quote/],
    ['deep dive image without alt', '::: deepdive\n## D\n\n![](https://example.org/a.png)\n\nT\n\n[R](https://example.org)\n:::\n', 4, /image has no alt text/],
  ];
  for (const [name, body, bodyLine, message] of cases) {
    it(`reports ${name} at file:line`, () => {
      const error = errorOf(body);
      expect(error.code).toBe('E_CONTENT');
      expect(error.message).toMatch(message);
      expect(error.location).toEqual({ file: 'de.md', line: OFFSET + bodyLine });
      expect(error.hint?.length).toBeGreaterThan(10);
    });
  }

  it('renders free-form articles with tables in a scroll container, and rejects blocks there', () => {
    const { html } = parseFreeForm(md, '# T\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n[x](https://example.org/x)\n', 'a.md', 0);
    expect(html).toContain('<div class="table-scroll"><table class="data">');
    expect(html).toContain('<a href="https://example.org/x">x</a>');
    expect(() => parseFreeForm(md, 'Text\n\n::: news\nX\n:::\n', 'a.md', 5)).toThrow(/belong to briefings/);
  });

  it('keeps raw HTML out of the mail', () => {
    const { html } = parseFreeForm(md, 'Hi <script>alert(1)</script>\n', 'a.md', 0);
    expect(html).not.toContain('<script>');
  });
});
