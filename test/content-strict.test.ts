import { writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFrontMatter } from '../src/content/front-matter.ts';
import { decodeIssueFile, MAX_ISSUE_BYTES } from '../src/content/source.ts';
import { DepescheError } from '../src/errors.ts';
import { createCompiler } from '../src/render/index.ts';
import { scratchContent } from './content-fixtures.ts';
import { compileError as compileErrorIn } from './content-fixtures.ts';

// Issue files are data typed by editors: every way they go wrong ends in a message with
// the file, the line and what to do, never in a stack trace, a hang or garbled text.

function errorOf(run: () => unknown): DepescheError {
  try {
    run();
  } catch (error) {
    if (error instanceof DepescheError) return error;
    throw error;
  }
  throw new Error('expected a DepescheError');
}

const FRONT = `---
template: article
title: Titel
subject: Betreff
preheader: Vorschau
date: 2026-03-01
---
`;

describe('front matter is YAML, and only YAML', () => {
  it('refuses ---js without running it, naming the file', () => {
    const marker = `depesche-js-ran-${process.pid}`;
    const source = `---js\n{ template: (globalThis['${marker}'] = true, 'article') }\n---\nText\n`;
    const error = errorOf(() => parseFrontMatter(source, 'issues/x/de.md'));
    expect(error.message).toMatch(/marked "---js"; issue files take YAML front matter only/);
    expect(error.location).toEqual({ file: 'issues/x/de.md', line: 1 });
    expect((globalThis as Record<string, unknown>)[marker]).toBeUndefined();
    for (const engine of ['javascript', 'coffee', 'json', 'toml', ' yaml']) {
      expect(() => parseFrontMatter(`---${engine}\ntemplate: article\n---\n`, 'x.md'), engine).toThrow(/YAML front matter only/);
    }
  });

  it('refuses YAML tags that build JavaScript', () => {
    const error = errorOf(() => parseFrontMatter(`---\ntemplate: !!js/function "function () { return 1 }"\n---\n`, 'x.md'));
    expect(error.message).toMatch(/not valid YAML/);
  });

  it('reports a pathological unknown key at once (no RegExp is built from it)', () => {
    const key = `${'a'.repeat(40)}(((((((((((((((((((((((((((((((((((((((((a*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*)*!`;
    const started = performance.now();
    const error = errorOf(() => parseFrontMatter(`${FRONT.replace('---\n', '---\n')}`.replace('date: 2026-03-01', `date: 2026-03-01\n"${key}": 1`), 'x.md'));
    expect(performance.now() - started).toBeLessThan(200);
    expect(error.message).toContain('Unknown front matter field');
    expect(error.location?.line).toBe(7);
  });

  it('points an unclosed quote at its own line, not at the field it swallowed', () => {
    const source = `---\ntemplate: article\ntitle: Titel\nsubject: "China AI2X: Ein Sprachmodell\npreheader: "Außerdem: StepFun holt Rekordsumme"\ndate: 2026-03-01\n---\nText\n`;
    const error = errorOf(() => parseFrontMatter(source, 'x.md'));
    expect(error.message).toBe('The double quote that opens the value of "subject" is not closed on its line.');
    expect(error.location?.line).toBe(4);
    expect(error.hint).toMatch(/typographic quotes/);
  });

  it('explains a colon in an unquoted value', () => {
    const error = errorOf(() => parseFrontMatter(FRONT.replace('subject: Betreff', 'subject: China AI2X: Ein Modell'), 'x.md'));
    expect(error.location?.line).toBe(4);
    expect(error.hint).toMatch(/contains ": "\. Put the whole value in straight double quotes/);
  });

  it('says an empty file is empty, instead of failing on it', () => {
    for (const source of ['', '\n\n', '\uFEFF']) {
      const error = errorOf(() => parseFrontMatter(source, 'issues/x/en.md'));
      expect(error.message).toBe('en.md is empty.');
      expect(error.hint).toMatch(/delete the file if this language has no edition/);
      // The way to send the German edition alone meanwhile.
      expect(error.hint).toMatch(/put `languages: de` in the front matter of de\.md: en\.md is then a draft and is not sent/);
    }
    expect(errorOf(() => parseFrontMatter('', 'issues/x/de.md')).hint).toMatch(/`languages: en` in the front matter of en\.md/);
  });

  it('says that „…“ are not YAML quotes when a value in them holds a colon', () => {
    const error = errorOf(() => parseFrontMatter(FRONT.replace('subject: Betreff', 'subject: „Hintergrund: Landstrom“'), 'x.md'));
    expect(error.location?.line).toBe(4);
    expect(error.message).toBe('The value of subject: starts with „, which YAML does not read as a quote, so the ": " inside it breaks the line.');
    expect(error.hint).toMatch(/„…“, “…” and »…« are not YAML quotes\. Put the value in straight double quotes, subject: "„Hintergrund: Landstrom“"/);
    // Written as the hint says, it reads.
    expect(parseFrontMatter(FRONT.replace('subject: Betreff', 'subject: "„Hintergrund: Landstrom“"'), 'x.md').meta.subject).toBe('„Hintergrund: Landstrom“');
  });

  it('reads languages: as a list, a word or a comma list, and refuses others', () => {
    const with_ = (value: string) => parseFrontMatter(FRONT.replace('date:', `languages: ${value}\ndate:`), 'x.md').meta.languages;
    expect(with_('[en, de]')).toEqual(['de', 'en']);
    expect(with_('de')).toEqual(['de']);
    expect(with_('de, en')).toEqual(['de', 'en']);
    expect(parseFrontMatter(FRONT, 'x.md').meta.languages).toBeNull();
    const error = errorOf(() => with_('[de, fr]'));
    expect(error.message).toMatch(/"languages" may only name de and en/);
    expect(error.location?.line).toBe(6);
  });
});

describe('issue files are UTF-8', () => {
  const german = 'Größe, Übermaß und Straße: äöü ß – die Fußgänger bleiben stehen.\n';

  it('refuses a Windows-1252 ("ANSI") file, naming the encoding and the first bad line', () => {
    const bytes = Buffer.concat([Buffer.from(`${FRONT}\nErste Zeile ohne Umlaut.\n`, 'utf8'), Buffer.from(german.repeat(3), 'latin1')]);
    const error = errorOf(() => decodeIssueFile(bytes, 'issues/x/de.md'));
    expect(error.message).toMatch(/^The file is not UTF-8; it looks like ISO-8859-1 \/ Windows-1252 \(what many editors call "ANSI"/);
    expect(error.location).toEqual({ file: 'issues/x/de.md', line: 10 });
    // As build and lint print it: the path once, with the line.
    expect(error.format().match(/issues\/x\/de\.md/g)).toHaveLength(1);
    expect(error.format()).toMatch(/^issues\/x\/de\.md:10: The file is not UTF-8/);
    expect(error.hint).toMatch(/Save the file as UTF-8/);
  });

  it('refuses UTF-16 and accepts UTF-8 with or without a BOM', () => {
    expect(() => decodeIssueFile(Buffer.from(`\uFEFF${german}`, 'utf16le'), 'x.md')).toThrow(/looks like UTF-16/);
    expect(decodeIssueFile(Buffer.from(german, 'utf8'), 'x.md')).toBe(german);
    expect(decodeIssueFile(Buffer.from(`\uFEFF${german}`, 'utf8'), 'x.md')).toBe(german);
  });

  it('refuses a file over the size limit before reading it as text', () => {
    const error = errorOf(() => decodeIssueFile(new Uint8Array(MAX_ISSUE_BYTES + 1), 'issues/x/de.md'));
    expect(error.message).toMatch(/an issue file may be at most 2 MB/);
    expect(error.format().match(/issues\/x\/de\.md/g)).toHaveLength(1);
    expect(error.hint).toMatch(/clipped by Gmail/);
  });
});

describe('compiling issues typed by people', () => {
  let scratch: Awaited<ReturnType<typeof scratchContent>>;
  beforeAll(async () => {
    scratch = await scratchContent();
  });
  afterAll(() => scratch.cleanup());

  const compileError = (slug: string) => compileErrorIn(scratch.dir, slug);

  it('names a merge marker in an issue at its line instead of crashing the send', async () => {
    await scratch.write('issues/marker/de.md', `${FRONT}\nHallo %%depesche.foo%% und willkommen.\n`);
    const error = await compileError('marker');
    expect(error.message).toBe('"%%depesche.foo%%" is a marker Depesche fills per reader; it cannot appear in an issue.');
    expect(error.location?.line).toBe(9);
  });

  it('names curly quotes that do not pair, and reads those that do', async () => {
    const briefing = (attrs: string) => `---\ntemplate: briefing\ntitle: T\nsubject: S\npreheader: P\ndate: 2026-03-01\n---\n\n::: editorial ${attrs}\nText.\n:::\n`;
    await scratch.write('issues/quotes/de.md', briefing('signature=“Henrik Bork” role=„Gründer“'));
    const [edition] = await createCompiler({ contentDir: scratch.dir }).compile('quotes');
    expect(edition!.html).toContain('<strong>Henrik Bork</strong>');
    await scratch.write('issues/quotes/de.md', briefing('signature=”Henrik Bork'));
    const error = await compileError('quotes');
    expect(error.message).toMatch(/the value of signature opens with the curly closing quote ” \(U\+201D\), which only the curly closing quote ” \(U\+201D\) closes, and there is none on the line/);
    expect(error.location?.line).toBe(9);

    // Guillemets pair both ways; German „…“ too.
    await scratch.write('issues/quotes/de.md', briefing('signature=»Henrik Bork« role=«Gründer»'));
    const [guillemets] = await createCompiler({ contentDir: scratch.dir }).compile('quotes');
    expect(guillemets!.html).toContain('Gründer');
  });

  // Each mark closes only with its own partner; a mark of another pair must not end a value.
  const mismatched: [attrs: string, message: RegExp][] = [
    ['signature=“Henrik Bork role=„Redaktionsleiter“', /the value of signature opens with the curly opening quote “ \(U\+201C\), which only the curly closing quote ” \(U\+201D\) closes, and there is none on the line \(it has „ “\)/],
    ['signature=„Henrik Bork” role=„Gründer“', /the value of signature opens with „ and runs to the “ after role=…, so it swallows role/],
    ['signature=«Henrik Bork«', /the value of signature opens with the guillemet « \(U\+00AB\), which only the guillemet » \(U\+00BB\) closes/],
    ['signature=“Henrik Bork“ role="Gründer"', /opens with the curly opening quote “ \(U\+201C\), which only the curly closing quote ” \(U\+201D\) closes/],
  ];
  for (const [attrs, message] of mismatched) {
    it(`refuses mismatched quotes at file:line: ${attrs}`, async () => {
      await scratch.write('issues/mismatch/de.md', `---\ntemplate: briefing\ntitle: T\nsubject: S\npreheader: P\ndate: 2026-03-01\n---\n\n::: editorial ${attrs}\nText.\n:::\n`);
      const error = await compileError('mismatch');
      expect(error.message).toMatch(message);
      expect(error.location).toEqual({ file: expect.stringMatching(/issues\/mismatch\/de\.md$/), line: 9 });
      expect(error.hint).toMatch(/each opening mark with its own closing one/);
    });
  }

  it('compiles an issue of 1 MB in seconds', async () => {
    const paragraph = 'Chinas Provinzen werben mit Rechenleistung, Fördergeld und Daten um KI-Firmen; wer zuerst baut, bekommt die besten Standorte. ';
    const section = (n: number) => `## Abschnitt ${n}\n\n${paragraph.repeat(6)}\n\n- Punkt [${n}](https://example.org/${n})\n- Punkt\n\n| A | B |\n| --- | --- |\n| ${n} | ${n * 2} |\n\n`;
    let body = '';
    for (let n = 0; Buffer.byteLength(body) < 1024 * 1024; n++) body += section(n);
    await scratch.write('issues/big/de.md', FRONT + body);
    const compiler = createCompiler({ contentDir: scratch.dir });
    const started = performance.now();
    const findings = await compiler.lint('big');
    const seconds = (performance.now() - started) / 1000;
    // About 5 s on an idle 2-core machine; the bound leaves room for a loaded one, and a
    // superlinear step (a RegExp per key, a search per line) would take minutes.
    expect(seconds).toBeLessThan(60);
    // It builds; the mail is far too big to send, and lint says so.
    expect(findings.filter((f) => f.severity === 'error').map((f) => f.rule)).toEqual(['size']);
  });
});
