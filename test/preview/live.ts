import { writeFile } from 'node:fs/promises';
import type { Page } from 'playwright-core';

export interface LiveUpdateRun {
  /** Markdown file to save. */
  file: string;
  /** The file's content with a token somewhere the mail shows it. */
  withToken(token: string): string;
  /** Language column whose frame must show the token. @defaultValue `de` */
  lang?: string;
  runs?: number;
  /** Waits after each save until this resolves, e.g. until lint is done, so each save is measured on an idle process. */
  settle?: () => Promise<void>;
}

/**
 * Saves the file `runs` times, each with a new token, and measures each time from the
 * write until the page's mail frame shows the token: the editor's save → updated page.
 */
export async function measureLiveUpdates(page: Page, run: LiveUpdateRun): Promise<number[]> {
  const timings: number[] = [];
  for (let i = 1; i <= (run.runs ?? 5); i++) {
    const token = `Live-Token-${i}-${Date.now()}`;
    const started = performance.now();
    await writeFile(run.file, run.withToken(token));
    await page.waitForFunction(
      ([t, lang]) => {
        const frame = document.querySelector(`section.edition[data-lang="${lang}"] iframe.current`) as HTMLIFrameElement | null;
        return frame?.contentDocument?.body?.innerText.includes(t!);
      },
      [token, run.lang ?? 'de'],
      { timeout: 10_000, polling: 5 },
    );
    timings.push(performance.now() - started);
    await (run.settle ? run.settle() : new Promise((r) => setTimeout(r, 1200)));
  }
  return timings;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** `source` with `token` appended to its first line of prose after the front matter. */
export function appendToFirstProse(source: string, token: string): string {
  const body = source.indexOf('\n---', 4) + 4;
  const prose = /^\p{L}[^\n]*$/mu.exec(source.slice(body));
  if (!prose) throw new Error('no line of prose after the front matter');
  const at = body + prose.index + prose[0].length;
  return `${source.slice(0, at)} ${token}${source.slice(at)}`;
}

/** Resolves once the preview has linted its latest build of `slug`. */
export async function lintSettled(baseUrl: string, slug: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const issue = (await (await fetch(new URL(`api/issues/${slug}`, baseUrl))).json()) as { version: number; lintedVersion: number };
    if (issue.lintedVersion === issue.version) return;
    if (Date.now() > deadline) throw new Error(`lint of ${slug} did not finish in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
