import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DepescheError } from '../src/errors.ts';
import { createCompiler, fillSample, type CompiledEdition } from '../src/render/index.ts';
import { ARTICLE, BODY, FRONT, REPO, SAMPLE, scratchContent } from './content-fixtures.ts';
import { compileError as compileErrorIn } from './content-fixtures.ts';

const LABELS = {
  de: ['Aus der Redaktion', 'Fokus der Woche', 'Nachrichten', 'Zitat der Woche', 'Zahlen der Woche', 'Policy- und Regulierungsupdate', 'In Zukunft im Blick behalten', 'Deep Dive', 'Warum ist das wichtig?', 'Worum geht es', 'Impressum'],
  en: ['From the editors', 'Focus of the week', 'News', 'Quote of the week', 'Numbers of the week', 'Policy and regulation update', 'On the radar', 'Deep Dive', 'Why it matters', 'What it is about', 'Imprint'],
};

const compiler = createCompiler({ contentDir: REPO, publicUrl: 'https://briefing.example.org' });
let briefing: CompiledEdition[];
let article: CompiledEdition[];

beforeAll(async () => {
  briefing = await compiler.compile(SAMPLE);
  article = await compiler.compile(ARTICLE);
});

function hrefs(html: string): string[] {
  return [...html.matchAll(/<a\b[^>]*?href="([^"]*)"/g)].map((m) => m[1]!.replace(/&amp;/g, '&'));
}

describe('compiled sample briefing (golden structure)', () => {
  it('has both languages with lang on <html> and on the body wrapper', () => {
    expect(briefing.map((e) => e.lang)).toEqual(['de', 'en']);
    for (const e of briefing) {
      expect(e.html).toMatch(new RegExp(`<html[^>]*lang="${e.lang}"`));
      expect(e.html.slice(e.html.indexOf('<body'))).toMatch(new RegExp(`<div[^>]*lang="${e.lang}"`));
    }
  });

  it('shows every section label in its own language and none of the other', () => {
    for (const e of briefing) {
      for (const label of LABELS[e.lang]) expect(e.html, label).toContain(label);
      expect(e.text).toContain(LABELS[e.lang][0]!.toLocaleUpperCase());
    }
    expect(briefing[1]!.html).not.toContain('Aus der Redaktion');
    expect(briefing[0]!.html).not.toContain('From the editors');
  });

  it('leaves nothing unrendered and stays under 100 KB', () => {
    for (const e of [...briefing, ...article]) {
      expect(e.html).not.toContain('{{');
      expect(e.text).not.toContain('{{');
      expect(e.html).not.toMatch(/<mj-/);
      expect(e.htmlBytes).toBe(Buffer.byteLength(e.html));
      expect(e.htmlBytes).toBeLessThan(100 * 1024);
    }
  });

  it('marks layout tables as presentation, gives images alt text and carries the preheader', () => {
    for (const e of briefing) {
      const tables = e.html.match(/<table\b[^>]*>/g) ?? [];
      expect(tables.length).toBeGreaterThan(10);
      for (const table of tables) expect(table).toContain('role="presentation"');
      for (const img of e.html.match(/<img\b[^>]*>/g) ?? []) expect(img).toMatch(/alt="[^"]+"/);
      expect(e.html).toContain(e.preheader.slice(0, 30));
    }
  });

  it('formats dates and bare numbers per language with Intl', () => {
    const [de, en] = briefing;
    expect(de!.html).toContain('22. Februar 2026');
    expect(en!.html).toContain('22 February 2026');
    expect(de!.html).toContain('>6.000<');
    expect(en!.html).toContain('>6,000<');
  });

  it('keeps merge markers for footer links and greeting, and fills them for output', () => {
    for (const e of briefing) {
      for (const field of ['unsubscribeUrl', 'preferencesUrl', 'viewOnlineUrl', 'subscribeUrl', 'archiveUrl', 'greeting']) {
        expect(e.html).toContain(`%%depesche.${field}%%`);
        expect(e.text).toContain(`%%depesche.${field}%%`);
      }
      expect(e.greeting.named).toContain('{name}');
      const filled = fillSample(e, 'https://briefing.example.org');
      expect(filled.html).not.toContain('%%depesche.');
      expect(filled.text).not.toContain('%%depesche.');
      expect(hrefs(filled.html)).toContain(`https://briefing.example.org/archive/${SAMPLE}/${e.lang}`);
      expect(filled.html).toContain(e.greeting.anonymous);
    }
  });

  it('writes a text part with the same sections, headlines and links as the HTML', () => {
    for (const e of briefing) {
      const filled = fillSample(e, 'https://briefing.example.org');
      const htmlLinks = new Set(hrefs(filled.html));
      const textLinks = new Set([...filled.text.matchAll(/<(https?:\/\/[^>\s]+)>/g)].map((m) => m[1]!));
      expect(textLinks).toEqual(htmlLinks);
      for (const headline of e.html.matchAll(/<p class="headline"[^>]*>([^<]+)<\/p>/g)) {
        expect(filled.text).toContain(headline[1]!.replace(/&amp;/g, '&').replace(/&#x27;|&#39;/g, "'"));
      }
      expect(filled.text).not.toMatch(/<(p|div|table|td)\b/);
    }
  });

  it('renders the article with table, list, blockquote, image and links readable on a phone', () => {
    const [de] = article;
    expect(de!.html).toMatch(/<div class="table-scroll"[^>]*overflow-x:\s*auto/);
    expect(de!.html).toMatch(/<table class="data"/);
    expect(de!.html).toMatch(/<ul\b/);
    expect(de!.html).toMatch(/<blockquote\b/);
    expect(de!.html).toMatch(/<img\b[^>]*alt="Smartphone/);
    // A figure: the column width as an attribute (Outlook for Windows), fluid by style elsewhere.
    expect(de!.html).toMatch(/<img\b[^>]*width="584"[^>]*style="[^"]*width:\s*100%/);
    expect(de!.html).toMatch(/<p class="caption"[^>]*>Symbolbild<\/p>/);
    expect(de!.text).toMatch(/\[Smartphone mit einem Chat[^\]]*\]\n\nSymbolbild/);
    expect(de!.text).toContain('Pangu Pro 72B');
  });
});

describe('compile errors', () => {
  let scratch: Awaited<ReturnType<typeof scratchContent>>;
  beforeAll(async () => {
    scratch = await scratchContent();
  });
  afterAll(() => scratch.cleanup());

  const compileError = (slug: string) => compileErrorIn(scratch.dir, slug);

  it('names an unknown template at its front matter line', async () => {
    await scratch.write('issues/t1/de.md', FRONT('de').replace('template: briefing', 'template: magazine') + BODY);
    const file = await scratch.write('issues/t1/en.md', FRONT('en') + BODY);
    const error = await compileError('t1');
    expect(error.message).toBe('Unknown template "magazine".');
    expect(error.location).toEqual({ file: file.replace('en.md', 'de.md'), line: 2 });
    expect(error.hint).toMatch(/article, briefing/);
  });

  it('builds an issue that has only one language', async () => {
    await scratch.write('issues/t2/de.md', FRONT('de') + BODY);
    const editions = await createCompiler({ contentDir: scratch.dir }).compile('t2');
    expect(editions.map((e) => e.lang)).toEqual(['de']);
  });

  it('names an issue folder without any language file', async () => {
    await scratch.write('issues/t2b/german.md', FRONT('de') + BODY);
    const error = await compileError('t2b');
    expect(error.message).toMatch(/has no edition/);
    expect(error.hint).toMatch(/german\.md → de\.md or en\.md/);
  });

  it('points block errors at the line of the .md file', async () => {
    const file = await scratch.write('issues/t3/de.md', FRONT('de') + BODY + '\n::: nonsense\nx\n:::\n');
    await scratch.write('issues/t3/en.md', FRONT('en') + BODY);
    const error = await compileError('t3');
    const line = (await readFile(file, 'utf8')).split('\n').indexOf('::: nonsense') + 1;
    expect(error.location).toEqual({ file, line });
  });

  it('refuses slugs that are paths', async () => {
    const error = await compileError('../templates');
    expect(error.code).toBe('E_INPUT');
  });

  it('names the template file when a template fails, and MJML errors in generated markup', async () => {
    await scratch.write('issues/t4/de.md', FRONT('de') + BODY);
    await scratch.write('issues/t4/en.md', FRONT('en') + BODY);
    const partial = `${scratch.dir}/templates/briefing/partials/news.hbs`;
    const original = await readFile(partial, 'utf8');
    try {
      await scratch.write('templates/briefing/partials/news.hbs', '{{#each items}}\n<mj-text>{{t "briefing.noSuchKey"}}</mj-text>{{/each}}');
      let error = await compileError('t4');
      expect(error.code).toBe('E_TEMPLATE');
      expect(error.message).toMatch(/unknown locale key "briefing.noSuchKey"/);

      await scratch.write('templates/briefing/partials/news.hbs', '{{#each items}}\n<mj-text>{{/if}}</mj-text>');
      error = await compileError('t4');
      expect(error.code).toBe('E_TEMPLATE');
      expect(error.location?.file).toBe(partial);

      await scratch.write('templates/briefing/partials/news.hbs', '<mj-section><mj-column><mj-bogus>x</mj-bogus></mj-column></mj-section>');
      error = await compileError('t4');
      expect(error.code).toBe('E_MJML');
      expect(error.message).toMatch(/mj-bogus/);
    } finally {
      await scratch.write('templates/briefing/partials/news.hbs', original);
    }
  });

  it('reports an unclosed front matter at line 1', async () => {
    const file = await scratch.write('issues/t5/de.md', FRONT('de').replace(/---\n$/, '') + BODY);
    await scratch.write('issues/t5/en.md', FRONT('en') + BODY);
    const error = await compileError('t5');
    expect(error.message).toBe('The front matter is not closed.');
    expect(error.location).toEqual({ file, line: 1 });
  });

  it('says where the templates are missing when the content folder is wrong', async () => {
    const error = await createCompiler({ contentDir: `${scratch.dir}/issues` }).compile('..').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DepescheError);
    const wrong = await scratchContent();
    try {
      await wrong.write('issues/x/de.md', FRONT('de') + BODY);
      const { rm } = await import('node:fs/promises');
      await rm(`${wrong.dir}/templates`, { recursive: true });
      const missing = (await createCompiler({ contentDir: wrong.dir }).compile('x').catch((e: unknown) => e)) as DepescheError;
      expect(missing.message).toBe(`There are no templates in ${wrong.dir}/templates.`);
      expect(missing.hint).toMatch(/--dir \(or CONTENT_DIR\) must name the folder that holds issues\/, templates\/ and locales\//);
    } finally {
      await wrong.cleanup();
    }
  });

  it('reports an unknown issue', async () => {
    const error = await compileError('nope');
    expect(error.code).toBe('E_NOT_FOUND');
  });
});

describe('compiler caches and index', () => {
  it('lists issues newest first, broken ones included', async () => {
    const scratch = await scratchContent();
    try {
      await scratch.write('issues/2026-01-01-old/de.md', FRONT('de').replace('2026-03-01', '2026-01-01') + BODY);
      await scratch.write('issues/2026-01-01-old/en.md', FRONT('en').replace('2026-03-01', '2026-01-01') + BODY);
      await scratch.write('issues/2026-04-01-broken/de.md', '---\ntitle: [\n---\n');
      await scratch.write('issues/2026-03-01-new/de.md', FRONT('de') + BODY);
      await scratch.write('issues/2026-03-01-new/en.md', FRONT('en') + BODY);
      const list = await createCompiler({ contentDir: scratch.dir }).listIssues();
      expect(list.map((i) => i.slug)).toEqual(['2026-04-01-broken', '2026-03-01-new', '2026-01-01-old']);
      expect(list[0]).toMatchObject({ title: '2026-04-01-broken', langs: ['de'] });
      expect(list[1]).toMatchObject({ title: 'Test Briefing de', date: '2026-03-01', template: 'briefing', langs: ['de', 'en'] });
      expect(list[1]!.files.en).toMatch(/2026-03-01-new\/en\.md$/);
    } finally {
      await scratch.cleanup();
    }
  });

  it('keeps templates cached until invalidate names a template or locale file', async () => {
    const scratch = await scratchContent();
    try {
      await scratch.write('issues/x/de.md', FRONT('de') + BODY);
      await scratch.write('issues/x/en.md', FRONT('en') + BODY);
      const c = createCompiler({ contentDir: scratch.dir });
      expect((await c.compile('x'))[0]!.html).toContain('Aus der Redaktion');
      const localeFile = `${scratch.dir}/locales/de.json`;
      const locale = JSON.parse(await readFile(localeFile, 'utf8'));
      locale.briefing.parts.editorial = 'Von der Redaktion';
      await scratch.write('locales/de.json', JSON.stringify(locale));
      // Still cached: the locale change is invisible until invalidated.
      expect((await c.compile('x'))[0]!.html).toContain('Aus der Redaktion');
      expect(c.invalidate(localeFile)).toBe('all');
      expect((await c.compile('x'))[0]!.html).toContain('Von der Redaktion');
      expect(c.invalidate('templates/briefing/partials/news.hbs')).toBe('all');
      expect(c.invalidate(`${scratch.dir}/issues/x/de.md`)).toEqual(['x']);
      expect(c.invalidate('issues/other/en.md')).toEqual(['other']);
      // Issues are read fresh: an edit shows without invalidate.
      await scratch.write('issues/x/de.md', FRONT('de') + BODY.replace('First item', 'Changed item'));
      expect((await c.compile('x'))[0]!.html).toContain('Changed item');
    } finally {
      await scratch.cleanup();
    }
  });

  it('recompiles a warm issue fast enough for live preview', async () => {
    const start = performance.now();
    await compiler.compile(SAMPLE);
    // Target is save → updated page under 300 ms; the compile is the bulk of it.
    expect(performance.now() - start).toBeLessThan(1000);
  });
});
