import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createCompiler, fillSample, type CompiledEdition } from '../src/render/index.ts';
import { startPreviewServer, type PreviewServer } from '../src/server/preview/server.ts';
import { createMarkdown } from '../src/content/markdown.ts';
import { parseIssue } from '../src/content/load.ts';
import { minTableWidth, PHONE_TEXT_WIDTH } from '../src/content/table-width.ts';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import { ARTICLE, REPO, SAMPLE, scratchContent } from './content-fixtures.ts';

// Most mail is read on a phone. Checked in Chromium, with one browser for every check:
// - no table cell breaks a word or a number mid-way, at 375, 600 and 1280 px;
// - nothing makes the page scroll sideways: tables of 2 to 8 columns, a long code line;
// - the German-only sample article reads well (title size, tables) at every width;
// - each template keeps its layout with every <style> removed, as GMX and WEB.DE show it;
// - the preview shows a single-language issue side by side with a note.

const WIDTHS = [375, 600, 1280] as const;
const GERMAN_ONLY = '2026-02-18-chinas-ki-landkarte';
const PUBLIC_URL = 'https://briefing.example.org';

/** Real table content, as a German publication writes it: long words, years, thousands, a URL. */
const COLUMNS: [header: string, cell: (row: number) => string][] = [
  ['Teilnehmer', (r) => ['Alibaba Cloud', 'Moonshot AI', 'Zhipu AI'][r]!],
  ['Schwerpunkt', (r) => ['Embodied AI', 'Halluzinationsrate', 'Wirkstoffentdeckung'][r]!],
  ['Gründung', (r) => ['1999', '2023', '2019'][r]!],
  ['Finanzierung (Yuan)', (r) => ['200.000', '5.000.000.000', '69 Mrd.'][r]!],
  ['Notiz', (r) => ['https://www.china-briefing.com/news/exploring-chinas-leading-ai-hubs', 'Unternehmensangaben', 'Rechenzentrumskapazität'][r]!],
  ['Standort', (r) => ['Hangzhou', 'Peking', 'Shenzhen'][r]!],
  ['Kontextfenster', (r) => ['262.000 Tokens', '256.000 Tokens', '–'][r]!],
  ['Offenheit', (r) => ['teilweise offen', 'offen', 'eher geschlossen'][r]!],
];

function tableOf(columns: number): string {
  const cols = COLUMNS.slice(0, columns);
  const row = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [row(cols.map(([h]) => h)), row(cols.map(() => '---')), ...[0, 1, 2].map((r) => row(cols.map(([, cell]) => cell(r))))].join('\n');
}

/** Eight columns of figures with their units, as the reviewer's harbour article has them. */
const NUMBERS = `| Hafen | Anläufe 2025 | mit Landstrom | Quote | Strom (MWh) | Investition (Mio. €) | Förderung (Mio. €) | CO₂ vermieden (t) |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
| Hamburg-Altona | 212 | 61 | 28,8 % | 4.870 | 10,5 € | 7,2 Mio. | 1.950 t |
| Kiel-Ostseekai | 301 | 184 | 61,1 % | 9.960 | 14,2 € | 9,8 Mio. | 3.980 t |
| **Summe** | **513** | **245** | **47,8 %** | **14.830** | **24,7 €** | **17,0 Mio.** | **5.930 t** |`;

/** Figures with their unit ("28,8 %", "10,5 €") that the browser split across two lines. */
async function splitFigures(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const broken: string[] = [];
    for (const cell of document.querySelectorAll('table.data th, table.data td')) {
      const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        for (const match of (node.textContent ?? '').matchAll(/\d[\d.,]*\s(%|€|t|Mio\.)(?!\p{L})/gu)) {
          const range = document.createRange();
          range.setStart(node, match.index);
          range.setEnd(node, match.index + match[0].length);
          const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
          if (tops.size > 1) broken.push(match[0]);
        }
      }
    }
    return broken;
  });
}

const ARTICLE_FRONT = (title: string) => `---\ntemplate: article\ntitle: ${title}\nsubject: Tabellen\npreheader: Tabellen auf dem Telefon\ndate: 2026-03-01\n---\n\n`;

/** Words of each table cell that the browser broke across lines: "Teilneh|mer", "199|9". */
async function splitWords(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const broken: string[] = [];
    for (const cell of document.querySelectorAll('table.data th, table.data td')) {
      const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.textContent ?? '';
        // A word runs to the next space; a break right after a hyphen is a legitimate one.
        for (const match of text.matchAll(/[^\s-]+-?/g)) {
          const range = document.createRange();
          range.setStart(node, match.index);
          range.setEnd(node, match.index + match[0].length);
          const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
          if (tops.size > 1) broken.push(match[0]);
        }
      }
    }
    return broken;
  });
}

async function pageWidth(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth);
}

let browser: TestBrowser;
let scratch: Awaited<ReturnType<typeof scratchContent>>;
beforeAll(async () => {
  browser = await launchBrowser();
  scratch = await scratchContent();
});
afterAll(async () => {
  await browser?.close();
  await scratch?.cleanup();
});

async function open(width: number, html: string): Promise<Page> {
  const page = await browser.newPage({ width, height: 900 });
  // Images point at remote URLs; the test must not reach the network.
  await page.route('**/*', (route) => (route.request().url().startsWith('http') ? route.abort() : route.continue()));
  await page.setContent(html);
  return page;
}

describe('tables and code on phones and desktops', () => {
  let editions: { name: string; html: string }[];
  beforeAll(async () => {
    let body = 'Ein Absatz vor den Tabellen.\n\n';
    for (let columns = 2; columns <= 8; columns++) body += `Eine Tabelle mit ${columns} Spalten:\n\n${tableOf(columns)}\n\n`;
    body += `Eine Zahlentabelle mit 8 Spalten:\n\n${NUMBERS}\n\n`;
    body += "Ein Code-Beispiel mit einer langen Zeile:\n\n```\nfunction konfiguration() {\n    return fetch('https://example.org/api/v1/ausgaben?sprache=de&format=json&felder=titel,datum,autor,zusammenfassung,schlagworte,quelle');\n}\n```\n";
    await scratch.write('issues/tables/de.md', ARTICLE_FRONT('Tabellen von zwei bis acht Spalten') + body);
    const compiler = createCompiler({ contentDir: scratch.dir });
    const built = [...(await compiler.compile('tables')), ...(await createCompiler({ contentDir: REPO }).compile(GERMAN_ONLY)), ...(await createCompiler({ contentDir: REPO }).compile(ARTICLE))];
    editions = built.map((e: CompiledEdition) => ({ name: `${e.slug}/${e.lang}`, html: fillSample(e, PUBLIC_URL).html }));
  });

  for (const width of WIDTHS) {
    it(`break no word in a table cell and never scroll the page sideways at ${width} px`, async () => {
      for (const { name, html } of editions) {
        const page = await open(width, html);
        try {
          expect(await splitWords(page), `${name} at ${width} px`).toEqual([]);
          expect(await splitFigures(page), `${name} at ${width} px: a figure keeps its unit`).toEqual([]);
          expect(await pageWidth(page), `${name} at ${width} px`).toBeLessThanOrEqual(width);
          // Every table and code box stays inside the page; what is wider scrolls inside it.
          const boxes = await page.evaluate(() => [...document.querySelectorAll('.table-scroll, .code-scroll')].map((el) => ({ right: el.getBoundingClientRect().right, scrolls: el.scrollWidth > el.clientWidth })));
          for (const box of boxes) expect(box.right).toBeLessThanOrEqual(width);
          if (width === 375 && name.startsWith('tables/')) expect(boxes.some((b) => b.scrolls), 'a wide table scrolls in its box').toBe(true);
        } finally {
          await page.close();
        }
      }
    });
  }

  it('render a table that must scroll at its natural width, as lint estimates it, also without <style>', async () => {
    const html = editions.find((e) => e.name === 'tables/de')!.html;
    const doc = parseIssue(createMarkdown(), 'tables', 'de', { file: 'tables/de.md', source: ARTICLE_FRONT('Zahlen') + NUMBERS, mtimeMs: 0 }, new Map([['article', 'markdown']]));
    const estimate = minTableWidth(doc.outline.sections[0]!.tables[0]!);
    expect(estimate).toBeGreaterThan(PHONE_TEXT_WIDTH);
    for (const variant of [html, html.replace(/<style\b[^>]*>[\s\S]*?<\/style>/gi, '')]) {
      const page = await open(375, variant);
      try {
        const widths = await page.evaluate(() => [...document.querySelectorAll('table.data')].map((t) => ({ columns: t.querySelectorAll('tr')[0]!.children.length, width: t.getBoundingClientRect().width, text: t.textContent ?? '' })));
        const numbers = widths.find((t) => t.text.includes('Landstrom'))!;
        expect(numbers.width).toBeGreaterThanOrEqual(estimate);
        expect(await splitFigures(page)).toEqual([]);
      } finally {
        await page.close();
      }
    }
  });

  it('keep the code block\'s indentation and its long line inside the box', async () => {
    const page = await open(375, editions.find((e) => e.name === 'tables/de')!.html);
    try {
      const code = await page.evaluate(() => document.querySelector('pre.code')!.textContent!);
      expect(code.split('\n')).toEqual(['function konfiguration() {', expect.stringMatching(/^ {4}return fetch\('https:/), '}']);
      expect(await pageWidth(page)).toBeLessThanOrEqual(375);
    } finally {
      await page.close();
    }
  });
});

describe('the German-only sample article', () => {
  it('fits its title in three lines on a phone and shows the masthead, figure caption and endnotes', async () => {
    const [edition] = await createCompiler({ contentDir: REPO }).compile(GERMAN_ONLY);
    const page = await open(375, fillSample(edition!, PUBLIC_URL).html);
    try {
      const view = await page.evaluate(() => {
        const h1 = document.querySelector('h1')!;
        const style = getComputedStyle(h1);
        return {
          lines: Math.round(h1.getBoundingClientRect().height / parseFloat(style.lineHeight)),
          fontSize: parseFloat(style.fontSize),
          masthead: document.querySelector('.masthead-name')?.textContent,
          caption: document.querySelector('.figure .caption')?.textContent,
          endnotes: document.querySelectorAll('.endnotes li').length,
        };
      });
      expect(view.lines).toBeLessThanOrEqual(3);
      expect(view.fontSize).toBeLessThan(26);
      expect(view.masthead).toBe('China AI2X Briefing');
      expect(view.caption).toBe('Symbolbild: KI-generiert');
      expect(view.endnotes).toBe(1);
    } finally {
      await page.close();
    }
  });
});

describe('a long German title and a code box on a phone', () => {
  // 73 characters, as a real background piece is titled.
  const TITLE = 'Landstrom in deutschen Seehäfen – warum die Stecker oft ungenutzt bleiben';

  it('keeps the title within three lines at 375 px and the code inside its own grey box, with and without <style>', async () => {
    expect(TITLE).toHaveLength(73);
    const body = "Ein Absatz.\n\n```\nfetch('https://example.org/api/v1/ausgaben?sprache=de&format=json&felder=titel,datum,autor,zusammenfassung');\n```\n";
    await scratch.write('issues/long-title/de.md', ARTICLE_FRONT(TITLE) + body);
    const [edition] = await createCompiler({ contentDir: scratch.dir }).compile('long-title');
    const html = fillSample(edition!, PUBLIC_URL).html;
    for (const variant of [html, html.replace(/<style\b[^>]*>[\s\S]*?<\/style>/gi, '')]) {
      const page = await open(375, variant);
      try {
        const view = await page.evaluate(() => {
          const h1 = document.querySelector('h1')!;
          const pre = document.querySelector('pre.code')!;
          return {
            lines: Math.round(h1.getBoundingClientRect().height / parseFloat(getComputedStyle(h1).lineHeight)),
            boxRight: pre.getBoundingClientRect().right,
            preScrolls: pre.scrollWidth > pre.clientWidth,
            overflow: getComputedStyle(pre).overflowX,
          };
        });
        if (variant === html) expect(view.lines, 'title lines at 375 px').toBeLessThanOrEqual(3);
        expect(view.boxRight).toBeLessThanOrEqual(375);
        // The long line is wider than the box: the grey box itself scrolls, so the text never runs past its border.
        expect(view.preScrolls).toBe(true);
        expect(['auto', 'scroll']).toContain(view.overflow);
      } finally {
        await page.close();
      }
    }
  });
});

describe('templates without <style>, as GMX and WEB.DE desktop webmail show them', () => {
  for (const template of ['briefing', 'article']) {
    it(`${template}: keeps the content width, images, buttons and a readable footer`, async () => {
      const [probe] = await createCompiler({ contentDir: REPO }).compileProbe(template);
      const stripped = fillSample(probe!, PUBLIC_URL).html.replace(/<style\b[^>]*>[\s\S]*?<\/style>/gi, '');
      expect(stripped).not.toMatch(/<style/i);
      const page = await open(1280, stripped);
      try {
        const layout = await page.evaluate(() => {
          const luminance = (rgb: string) => {
            const [r, g, b] = (rgb.match(/\d+(\.\d+)?/g) ?? ['0', '0', '0']).slice(0, 3).map((v) => {
              const c = Number(v) / 255;
              return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
            });
            return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
          };
          const contrast = (a: string, b: string) => {
            const [x, y] = [luminance(a), luminance(b)].sort((m, n) => n - m);
            return (x! + 0.05) / (y! + 0.05);
          };
          const backgroundOf = (el: Element | null): string => {
            for (let node = el; node; node = node.parentElement) {
              const bg = getComputedStyle(node).backgroundColor;
              if (bg !== 'rgba(0, 0, 0, 0)' && bg !== 'transparent') return bg;
            }
            return 'rgb(255, 255, 255)';
          };
          const wrapper = document.querySelector('body > div[lang]')!;
          const sections = [...wrapper.children].filter((el) => el.tagName === 'DIV');
          const buttons = [...document.querySelectorAll('td[bgcolor] > a')];
          const footerLinks = [...document.querySelectorAll('.impressum, .impressum p, a[href*="unsubscribe"]')];
          return {
            widest: Math.max(...sections.map((el) => el.getBoundingClientRect().width)),
            images: [...document.querySelectorAll('img')].map((img) => img.getBoundingClientRect().width),
            buttons: buttons.map((a) => ({ bg: backgroundOf(a), padding: parseFloat(getComputedStyle(a).paddingLeft), contrast: contrast(getComputedStyle(a).color, backgroundOf(a)) })),
            footer: footerLinks.map((el) => contrast(getComputedStyle(el).color, backgroundOf(el))),
            scroll: document.documentElement.scrollWidth,
          };
        });
        expect(layout.widest).toBeLessThanOrEqual(640);
        for (const width of layout.images) expect(width).toBeLessThanOrEqual(640);
        if (template === 'briefing') expect(layout.buttons.length).toBeGreaterThan(0);
        for (const button of layout.buttons) {
          expect(button.bg).not.toBe('rgb(255, 255, 255)');
          expect(button.padding).toBeGreaterThan(8);
          expect(button.contrast).toBeGreaterThan(4.5);
        }
        expect(layout.footer.length).toBeGreaterThan(1);
        for (const ratio of layout.footer) expect(ratio).toBeGreaterThan(4.5);
        expect(layout.scroll).toBeLessThanOrEqual(1280);
      } finally {
        await page.close();
      }
    });
  }
});

describe('the preview of a German-only issue', () => {
  let server: PreviewServer;
  beforeAll(async () => {
    server = await startPreviewServer({ port: 0, contentDir: REPO, publicUrl: PUBLIC_URL, watch: false, lintThread: false, editionFallback: 'skip' });
  });
  afterAll(() => server?.close());

  it('shows the one edition side by side with what English readers get', async () => {
    const page = await browser.newPage({ width: 1440, height: 900 });
    try {
      await page.goto(`${server.url}issues/${GERMAN_ONLY}?lang=both`);
      await page.locator('.edition[data-lang="en"] .missing').waitFor();
      expect(await page.locator('#lang-switch button').allTextContents()).toEqual(['DE', 'Side by side']);
      expect(await page.locator('.edition[data-lang="de"] iframe').count()).toBe(1);
      expect(await page.locator('.edition[data-lang="en"] iframe').count()).toBe(0);
      expect(await page.locator('.edition[data-lang="en"] .missing').textContent()).toMatch(/no EN edition\. Readers of EN get nothing; a send counts them as "skipped: no edition in their language"/);
    } finally {
      await page.close();
    }
  });
});

describe('the sample briefing and article still fit a phone', () => {
  it('at 375 px', async () => {
    const compiler = createCompiler({ contentDir: REPO });
    for (const slug of [SAMPLE, ARTICLE]) {
      for (const edition of await compiler.compile(slug)) {
        const page = await open(375, fillSample(edition, PUBLIC_URL).html);
        try {
          expect(await pageWidth(page), `${slug} ${edition.lang}`).toBeLessThanOrEqual(375);
        } finally {
          await page.close();
        }
      }
    }
  });
});
