import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCompiler, type Finding } from '../src/render/index.ts';
import { lintHtml } from '../src/render/lint.ts';
import { BODY, FRONT, REPO, SAMPLE, ARTICLE, scratchContent } from './content-fixtures.ts';

const errors = (findings: Finding[]) => findings.filter((f) => f.severity === 'error');

describe('lint on the samples', () => {
  it('passes both sample issues without errors', async () => {
    const compiler = createCompiler({ contentDir: REPO });
    for (const slug of [SAMPLE, ARTICLE]) expect(errors(await compiler.lint(slug))).toEqual([]);
  });
});

describe('lint rules', () => {
  let scratch: Awaited<ReturnType<typeof scratchContent>>;
  let compiler: ReturnType<typeof createCompiler>;
  beforeAll(async () => {
    scratch = await scratchContent();
    compiler = createCompiler({ contentDir: scratch.dir });
  });
  afterAll(() => scratch.cleanup());

  async function lintPair(slug: string, de: string, en: string): Promise<Finding[]> {
    await scratch.write(`issues/${slug}/de.md`, de);
    await scratch.write(`issues/${slug}/en.md`, en);
    return compiler.lint(slug);
  }

  it('passes a clean fixture', async () => {
    expect(errors(await lintPair('clean', FRONT('de') + BODY, FRONT('en') + BODY))).toEqual([]);
  });

  it('turns compile errors into error findings with file and line', async () => {
    const findings = await lintPair('broken', FRONT('de') + '\n::: bogus\nx\n:::\n', FRONT('en') + BODY);
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'error', rule: 'compile', line: 10 });
    expect(findings[0]!.file).toMatch(/broken\/de\.md$/);
  });

  it('catches broken DE/EN parity: parts, item counts, link targets', async () => {
    const oneNews = BODY.slice(0, BODY.indexOf('::: news', BODY.indexOf('::: news') + 1));
    let findings = await lintPair('count', FRONT('de') + BODY, FRONT('en') + oneNews);
    expect(errors(findings).map((f) => f.rule)).toEqual(['parity']);
    expect(errors(findings)[0]!.message).toMatch(/"news" has 1 item\(s\) here but 2/);

    findings = await lintPair('links', FRONT('de') + BODY, FRONT('en') + BODY.replace('https://example.org/one', 'https://example.org/two'));
    expect(errors(findings)[0]!.message).toMatch(/Link 1 differs/);

    findings = await lintPair('parts', FRONT('de') + BODY, FRONT('en') + BODY.replace(/::: editorial[\s\S]*?:::\n/, ''));
    expect(errors(findings)[0]!.message).toMatch(/The parts differ/);
  });

  it('rejects links that are not absolute http(s), pointing at the line', async () => {
    const body = BODY.replace('https://example.org/one', '/relative/page');
    const findings = await lintPair('relative', FRONT('de') + body, FRONT('en') + body);
    const link = errors(findings).filter((f) => f.rule === 'link-absolute');
    expect(link).toHaveLength(2);
    const lines = (await readFile(link[0]!.file!, 'utf8')).split('\n');
    expect(lines[link[0]!.line! - 1]).toContain('(/relative/page)');
  });

  it('requires alt text on article images', async () => {
    const article = (lang: string) => FRONT(lang).replace('template: briefing', 'template: article') + '\nText.\n\n![](https://example.org/pic.png)\n';
    const findings = await lintPair('noalt', article('de'), article('en'));
    expect(errors(findings).map((f) => f.rule)).toEqual(['img-alt', 'img-alt']);
    expect(errors(findings)[0]!.line).toBe(12);
  });

  it('requires the Impressum', async () => {
    const locale = JSON.parse(await readFile(`${scratch.dir}/locales/de.json`, 'utf8'));
    const saved = locale.footer.impressum;
    locale.footer.impressum = ' ';
    await scratch.write('locales/de.json', JSON.stringify(locale));
    compiler.invalidate('locales/de.json');
    try {
      const findings = await lintPair('noimpressum', FRONT('de') + BODY, FRONT('en') + BODY);
      expect(errors(findings).map((f) => [f.rule, f.lang])).toEqual([['impressum', 'de']]);
      // A front matter Impressum fills in for the shared one.
      const own = FRONT('de', 'impressum: "Verlag Beispiel GmbH, Musterweg 2, 12345 Musterstadt, verantwortlich: Max Muster"\n');
      expect(errors(await lintPair('ownimpressum', own + BODY, FRONT('en') + BODY))).toEqual([]);
    } finally {
      locale.footer.impressum = saved;
      await scratch.write('locales/de.json', JSON.stringify(locale));
      compiler.invalidate('locales/de.json');
    }
  });

  it('flags unequal locale key sets', async () => {
    const locale = JSON.parse(await readFile(`${scratch.dir}/locales/en.json`, 'utf8'));
    locale.briefing.extraKey = 'only in English';
    await scratch.write('locales/en.json', JSON.stringify(locale));
    compiler.invalidate('locales/en.json');
    try {
      const keys = (await lintPair('keys', FRONT('de') + BODY, FRONT('en') + BODY)).filter((f) => f.rule === 'locale-keys');
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatchObject({ severity: 'error', lang: 'de' });
      expect(keys[0]!.message).toContain('briefing.extraKey');
      expect(keys[0]!.file).toMatch(/locales\/de\.json$/);
    } finally {
      delete locale.briefing.extraKey;
      await scratch.write('locales/en.json', JSON.stringify(locale));
      compiler.invalidate('locales/en.json');
    }
  });

  it('warns about CSS some clients do not support, with caniemail data', async () => {
    const findings = await lintPair('css', FRONT('de') + BODY, FRONT('en') + BODY);
    const support = findings.filter((f) => f.rule === 'client-support');
    expect(support.length).toBeGreaterThan(0);
    expect(support.every((f) => f.severity === 'warning')).toBe(true);
    expect(support.some((f) => /gmx|web-de/.test(f.message))).toBe(true);
  });
});

describe('lintHtml on hand-made HTML', () => {
  const edition = { lang: 'de', preheader: 'Vorschau' } as Parameters<typeof lintHtml>[0]['edition'];
  const doc = { file: 'de.md', metaLine: () => 5 } as unknown as Parameters<typeof lintHtml>[0]['doc'];
  const impressum = `<div class="impressum">${'Herausgeber Beispiel GmbH, Musterweg 1, Berlin. '.repeat(2)}</div>`;
  const page = (head: string, body: string) => `<!doctype html><html ${head}><body><div lang="de">Vorschau${body}${impressum}</div></body></html>`;
  const rules = (html: string) => lintHtml({ edition, doc, html, lines: [] }).map((f) => `${f.severity}:${f.rule}`);

  it('accepts a correct page', () => {
    expect(rules(page('lang="de"', '<a href="https://example.org">x</a>'))).toEqual([]);
  });
  it('wants lang on <html> and on a body wrapper', () => {
    expect(rules(page('', ''))).toEqual(['error:lang']);
    expect(rules(`<html lang="de"><body><div>Vorschau${impressum}</div></body></html>`)).toEqual(['error:lang']);
  });
  it('wants a preheader', () => {
    expect(rules(page('lang="de"', '').replace('Vorschau', ''))).toEqual(['error:preheader']);
  });
  it('warns from 80 KB and fails from 100 KB', () => {
    expect(rules(page('lang="de"', 'x'.repeat(85 * 1024)))).toEqual(['warning:size']);
    expect(rules(page('lang="de"', 'x'.repeat(101 * 1024)))).toEqual(['error:size']);
  });
  it('wants alt on every image and absolute links', () => {
    expect(rules(page('lang="de"', '<img src="https://e.org/a.png"><img src="https://e.org/b.png" alt="">'))).toEqual(['error:img-alt', 'error:img-alt']);
    expect(rules(page('lang="de"', '<a href="mailto:x@example.org">m</a><a href="#top">t</a>'))).toEqual(['error:link-absolute', 'error:link-absolute']);
    expect(rules(page('lang="de"', '<img src="images/a.png" alt="A">'))).toEqual(['error:link-absolute']);
  });
});
