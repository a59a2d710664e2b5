// Save → updated page in the editor's preview, against the compile alone as baseline:
// the ratio shows what watching, SSE, fetching and swapping the frame add on top.
// `npx node bench/preview.ts`, or `npm run bench -- preview`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createCompiler } from '../src/render/index.ts';
import { startPreviewServer } from '../src/server/preview/server.ts';
import { launchBrowser } from '../test/support/browser.ts';
import { copyContent } from '../test/preview/content.ts';
import { appendToFirstProse, lintSettled, measureLiveUpdates, median } from '../test/preview/live.ts';

const TARGET_MS = 300;
const RUNS = 7;

export async function run(): Promise<void> {
  const content = await copyContent();
  const compiler = createCompiler({ contentDir: content.dir });
  const issues = await compiler.listIssues();
  const issue = issues.find((i) => i.template === 'briefing') ?? issues[0];
  if (!issue) throw new Error('no issue under issues/ to measure');
  const file = join(content.dir, 'issues', issue.slug, 'de.md');
  const source = await readFile(file, 'utf8');
  const withToken = (token: string) => appendToFirstProse(source, token);

  // Baseline: the same rebuild a save triggers, without server, browser or watcher.
  const baseline: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    compiler.invalidate(file);
    const started = performance.now();
    await compiler.compile(issue.slug);
    baseline.push(performance.now() - started);
  }

  const server = await startPreviewServer({ port: 0, contentDir: content.dir, compiler });
  const browser = await launchBrowser();
  try {
    const page = await browser.newPage({ width: 1440, height: 900 });
    await page.goto(new URL(`issues/${issue.slug}?lang=de`, server.url).href);
    await page.waitForSelector('section.edition[data-lang="de"] iframe.current');
    await lintSettled(server.url, issue.slug);
    const builds: number[] = [];
    const settle = async () => {
      const issueJson = (await (await fetch(new URL(`api/issues/${issue.slug}`, server.url))).json()) as { compileMs: number };
      builds.push(issueJson.compileMs);
      await lintSettled(server.url, issue.slug);
    };
    const timings = await measureLiveUpdates(page, { file, withToken, runs: RUNS, settle });
    const preview = median(timings);
    const compile = median(baseline);
    console.log(`issue: ${issue.slug} (both languages rebuilt per save)`);
    console.log(`compile alone (baseline)   median ${compile.toFixed(0)} ms   [${baseline.map((t) => t.toFixed(0)).join(', ')}]`);
    console.log(`save → updated page        median ${preview.toFixed(0)} ms   [${timings.map((t) => t.toFixed(0)).join(', ')}]`);
    console.log(`  of which the build         median ${median(builds).toFixed(0)} ms   [${builds.join(', ')}]`);
    console.log(`ratio preview / compile    ${(preview / compile).toFixed(2)}×   target < ${TARGET_MS} ms: ${preview < TARGET_MS ? 'met' : 'missed'}`);
  } finally {
    await browser.close();
    await server.close();
    await content.remove();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
