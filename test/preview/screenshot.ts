// Regenerates the screenshots in docs/: `npx node test/preview/screenshot.ts`.
// Runs the preview on a temp copy of the content in headless Chromium.
import { resolve } from 'node:path';
import { createCompiler } from '../../src/render/index.ts';
import { startPreviewServer } from '../../src/server/preview/server.ts';
import { launchBrowser } from '../support/browser.ts';
import { copyContent } from './content.ts';

const docs = resolve(import.meta.dirname, '../../docs');
const content = await copyContent();
const compiler = createCompiler({ contentDir: content.dir });
const [issue] = await compiler.listIssues();
if (!issue) throw new Error('no issue to show');
const server = await startPreviewServer({ port: 0, contentDir: content.dir, compiler, watch: false, mailFrom: 'China AI2X Briefing <briefing@example.org>' });
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ width: 1440, height: 900 });
  const shoot = async (query: string, file: string) => {
    await page.goto(new URL(`issues/${issue.slug}?${query}`, server.url).href);
    await page.waitForSelector('section.edition iframe.current');
    await page.waitForFunction(() => !document.querySelector('#findings')?.textContent?.includes('Linting'), undefined, { timeout: 30_000 });
    await page.waitForTimeout(300);
    await page.screenshot({ path: resolve(docs, file) });
    console.log(`wrote docs/${file}`);
  };
  await shoot('lang=de', 'preview.png');
  await shoot('lang=both&width=mobile&dark=1', 'preview-mobile.png');
} finally {
  await browser.close();
  await server.close();
  await content.remove();
}
