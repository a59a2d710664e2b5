import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { createCompiler, fillSample, type CompiledEdition } from '../src/render/index.ts';
import { emulateDarkMode } from '../src/server/preview/dark-mode.ts';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import { ARTICLE, REPO, SAMPLE } from './content-fixtures.ts';

const compiler = createCompiler({ contentDir: REPO, publicUrl: 'https://briefing.example.org' });
let briefing: CompiledEdition[];
let article: CompiledEdition[];

beforeAll(async () => {
  briefing = await compiler.compile(SAMPLE);
  article = await compiler.compile(ARTICLE);
});

const html = (edition: CompiledEdition) => fillSample(edition, 'https://briefing.example.org').html;

/** The CSS of every <style> element, so a match in body text cannot pass for a stylesheet. */
function styles(doc: string): string {
  return [...doc.matchAll(/<style\b[^>]*>([\s\S]*?)<\/style>/gi)].map((m) => m[1]).join('\n');
}

/** The body of the first `@media (prefers-color-scheme: dark)` block, braces balanced. */
function darkBlock(css: string): string {
  const start = css.search(/@media\s*\(\s*prefers-color-scheme\s*:\s*dark\s*\)\s*\{/);
  if (start < 0) return '';
  const open = css.indexOf('{', start);
  let depth = 0;
  for (let i = open; i < css.length; i++) {
    if (css[i] === '{') depth++;
    else if (css[i] === '}' && --depth === 0) return css.slice(open + 1, i);
  }
  return '';
}

describe('dark mode in the compiled templates', () => {
  it('declares light and dark support and carries a dark block, in both languages', () => {
    expect(briefing.map((e) => e.lang)).toEqual(['de', 'en']);
    for (const edition of [...briefing, ...article]) {
      const doc = html(edition);
      const head = doc.slice(0, doc.search(/<\/head>/i));
      const label = `${edition.slug} ${edition.lang}`;
      expect(head, label).toContain('<meta name="color-scheme" content="light dark">');
      expect(head, label).toContain('<meta name="supported-color-schemes" content="light dark">');
      const css = styles(head);
      expect(css, label).toMatch(/:root\s*\{[^}]*color-scheme:\s*light dark/);
      const dark = darkBlock(css);
      // Backgrounds, text, links, borders, masthead, buttons and footer each get an override.
      for (const selector of ['body', '.dm-card', '.dm-card a', '.dm-card .label', '.dm-sep', '.dm-why', '.dm-btn a', '.dm-mast', '.dm-foot']) {
        expect(dark, `${label}: ${selector}`).toContain(selector);
      }
      // What the preview's dark toggle works on: the mail's own query and declaration.
      const emulated = emulateDarkMode(doc);
      expect(emulated.rewrittenQueries, label).toBe(1);
      expect(emulated.declaresDark, label).toBe(true);
    }
  });

  it('uses every dark-mode class it styles somewhere in the templates', () => {
    const dark = darkBlock(styles(html(briefing[0]!)));
    const classes = new Set([...dark.matchAll(/\.(dm-[a-z]+)/g)].map((m) => m[1]!));
    expect(classes.size).toBeGreaterThanOrEqual(8);
    const all = [...briefing, ...article].map(html).join('\n');
    for (const name of classes) expect(all, name).toMatch(new RegExp(`class="[^"]*\\b${name}\\b`));
  });
});

interface Looks {
  wrapper: string;
  greeting: { color: string; background: string };
  /** Visible text whose colour against its effective background is below 4.5:1. */
  unreadable: string[];
}

/** Computed colours as Chromium paints them; the contrast walk covers every visible text element. */
function looks(page: Page): Promise<Looks> {
  return page.evaluate(() => {
    const rgb = (value: string) => (value.match(/[\d.]+/g) ?? []).map(Number);
    const lum = (value: string) => {
      const [r = 0, g = 0, b = 0] = rgb(value).map((c) => c / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    const backgroundOf = (el: Element | null): string => {
      for (let at = el; at; at = at.parentElement) {
        const bg = getComputedStyle(at).backgroundColor;
        const alpha = rgb(bg)[3];
        if (alpha === undefined || alpha > 0) return bg;
      }
      return 'rgb(255, 255, 255)';
    };
    const unreadable: string[] = [];
    for (const el of document.body.querySelectorAll('*')) {
      const ownText = [...el.childNodes].some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim());
      if (!ownText || el.getClientRects().length === 0 || getComputedStyle(el).opacity === '0') continue;
      const fg = lum(getComputedStyle(el).color);
      const bg = lum(backgroundOf(el));
      const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
      if (ratio < 4.5) unreadable.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent!.trim().slice(0, 30)}" ${ratio.toFixed(1)}:1`);
    }
    const wrapper = document.querySelector('[role=article]')!;
    // A body paragraph (the greeting comes first): not a label, not the article's muted date line.
    const greeting = [...wrapper.querySelectorAll('.dm-card p:not([class])')].find((p) => !p.closest('.dm-muted'))!;
    return {
      wrapper: getComputedStyle(wrapper).backgroundColor,
      greeting: { color: getComputedStyle(greeting).color, background: backgroundOf(greeting) },
      unreadable,
    };
  });
}

function luminance(value: string): number {
  const [r = 0, g = 0, b = 0] = (value.match(/[\d.]+/g) ?? []).map(Number).map((c) => c / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

describe('compiled issues in Chromium set to dark', () => {
  let browser: TestBrowser;
  let page: Page;
  beforeAll(async () => {
    browser = await launchBrowser({ colorScheme: 'dark' });
    page = await browser.newPage({ width: 640, height: 900 });
    // Images point at remote URLs; the test must not reach the network.
    await page.route('**/*', (route) => (route.request().url().startsWith('http') ? route.abort() : route.continue()));
  });
  afterAll(() => browser?.close());

  it('paint a dark page with light, readable text in every part', async () => {
    for (const edition of [...briefing, ...article]) {
      const label = `${edition.slug} ${edition.lang}`;
      await page.emulateMedia({ colorScheme: 'dark' });
      await page.setContent(html(edition));
      const dark = await looks(page);
      expect(luminance(dark.wrapper), `${label} wrapper ${dark.wrapper}`).toBeLessThan(0.02);
      expect(luminance(dark.greeting.background), `${label} card ${dark.greeting.background}`).toBeLessThan(0.03);
      expect(luminance(dark.greeting.color), `${label} text ${dark.greeting.color}`).toBeGreaterThan(0.6);
      expect(dark.unreadable, label).toEqual([]);

      // The same mail in a light client keeps its light design.
      await page.emulateMedia({ colorScheme: 'light' });
      const light = await looks(page);
      expect(light.wrapper, label).toBe('rgb(236, 239, 242)');
      expect(luminance(light.greeting.color), label).toBeLessThan(0.05);
      expect(light.unreadable, label).toEqual([]);
    }
  });

  it('turn dark in the preview toggle too, in a browser that is set to light', async () => {
    await page.emulateMedia({ colorScheme: 'light' });
    await page.setContent(emulateDarkMode(html(briefing[0]!)).html);
    const emulated = await looks(page);
    expect(luminance(emulated.wrapper), emulated.wrapper).toBeLessThan(0.02);
    expect(luminance(emulated.greeting.color), emulated.greeting.color).toBeGreaterThan(0.6);
    expect(emulated.unreadable).toEqual([]);
  });
});
