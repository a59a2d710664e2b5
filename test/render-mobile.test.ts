import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCompiler, fillSample } from '../src/render/index.ts';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import { ARTICLE, REPO, SAMPLE } from './content-fixtures.ts';

// Phones are where most mail is read: nothing may force the page to scroll sideways.
describe('compiled issues at 375 px in Chromium', () => {
  let browser: TestBrowser;
  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(() => browser?.close());

  it('fit the width, with tables, images and buttons inside it', async () => {
    const compiler = createCompiler({ contentDir: REPO });
    const page = await browser.newPage({ width: 375, height: 800 });
    // Images point at remote URLs; the test must not reach the network.
    await page.route('**/*', (route) => (route.request().url().startsWith('http') ? route.abort() : route.continue()));
    for (const slug of [SAMPLE, ARTICLE]) {
      for (const edition of await compiler.compile(slug)) {
        await page.setContent(fillSample(edition, 'https://briefing.example.org').html);
        const widths = await page.evaluate(() => ({
          page: document.documentElement.scrollWidth,
          // Tables scroll inside their box, so the box (not the table) must fit.
          widest: Math.max(...[...document.querySelectorAll('.table-scroll, .code-scroll, img, a')].filter((el) => !el.closest('.table-scroll')).map((el) => el.getBoundingClientRect().right)),
        }));
        expect(widths.page, `${slug} ${edition.lang}`).toBeLessThanOrEqual(375);
        expect(widths.widest, `${slug} ${edition.lang}`).toBeLessThanOrEqual(375);
      }
    }
  });
});
