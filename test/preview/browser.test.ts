import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Frame, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCompiler } from '../../src/render/index.ts';
import { startPreviewServer, type PreviewServer } from '../../src/server/preview/server.ts';
import { createSmtpTransport } from '../../src/transport/smtp.ts';
import type { Transport } from '../../src/transport/types.ts';
import { launchBrowser, type TestBrowser } from '../support/browser.ts';
import { freePort } from '../support/ports.ts';
import { startSmtp, type TestSmtp } from '../support/smtp.ts';
import { copyContent, type ContentCopy } from './content.ts';
import { appendToFirstProse, lintSettled, measureLiveUpdates, median } from './live.ts';

let content: ContentCopy;
let smtp: TestSmtp;
let transport: Transport;
let server: PreviewServer;
let browser: TestBrowser;
let page: Page;
let slug: string;
let title: string;
let deFile: string;
let deSource: string;

beforeAll(async () => {
  content = await copyContent();
  // A dark-mode rule in the copied template, so the emulation has something to switch.
  const head = join(content.dir, 'templates', '_shared', 'head.hbs');
  await writeFile(
    head,
    (await readFile(head, 'utf8')).replace(
      '</mj-head>',
      '<mj-style>@media (prefers-color-scheme: dark) { .dark-probe, body { background-color: #101418 !important; color: #f0f0f0 !important; } }</mj-style>\n</mj-head>',
    ),
  );
  const compiler = createCompiler({ contentDir: content.dir });
  const issues = await compiler.listIssues();
  const issue = issues.find((i) => i.template === 'briefing') ?? issues[0]!;
  slug = issue.slug;
  title = issue.title;
  deFile = join(content.dir, 'issues', slug, 'de.md');
  deSource = await readFile(deFile, 'utf8');
  smtp = await startSmtp();
  transport = createSmtpTransport({ SMTP_URL: smtp.url, SMTP_POOL_SIZE: 1 });
  server = await startPreviewServer({ port: 0, contentDir: content.dir, publicUrl: 'http://127.0.0.1:4001', compiler, transport });
  browser = await launchBrowser();
  page = await browser.newPage({ width: 1440, height: 900 });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  await transport?.close();
  await smtp?.close();
  await content?.remove();
});

/** The frame currently shown for one language. */
async function mailFrame(lang: string): Promise<Frame> {
  // A live update may swap the frame between finding it and entering it: look again then.
  for (let attempt = 0; attempt < 20; attempt++) {
    const handle = await page.waitForSelector(`section.edition[data-lang="${lang}"] iframe.current`, { state: 'attached' });
    const frame = await handle.contentFrame();
    if (frame) {
      await frame.waitForLoadState('load');
      return frame;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no frame for ${lang}`);
}

async function frameText(lang: string): Promise<string> {
  return (await mailFrame(lang)).evaluate(() => document.body.innerText);
}

/** The mail with a token in its first paragraph, so each save changes what it shows. */
function withToken(token: string): string {
  return appendToFirstProse(deSource, token);
}

describe('preview in Chromium', () => {
  it('lists the issues on the index and opens one', async () => {
    await page.goto(server.url);
    await expect(page.locator('table.issues tbody tr').count()).resolves.toBeGreaterThan(0);
    const row = page.locator(`tr[data-slug="${slug}"]`);
    await expect(row.innerText()).resolves.toContain(title);
    await expect(row.innerText()).resolves.toMatch(/DE\s+\d+\.\d KB/);
    // Lint runs after the build; the index updates itself when it is done.
    await page.waitForFunction((s) => !document.querySelector(`tr[data-slug="${s}"]`)?.textContent?.includes('linting'), slug, { timeout: 20_000 });
    await expect(row.locator('.badge').first().innerText()).resolves.toMatch(/clean|warning|error/);
    await row.locator('a.issue-link').click();
    await page.waitForURL(`**/issues/${slug}`);
    expect(await frameText('de')).toContain('Dafür bedanken wir uns herzlich');
  });

  it('switches language, side by side, width and tabs', async () => {
    await page.goto(new URL(`issues/${slug}`, server.url).href);
    await mailFrame('de');
    expect(await (await mailFrame('de')).evaluate(() => document.documentElement.lang)).toBe('de');
    await page.click('#lang-switch button[data-lang="en"]');
    expect(await (await mailFrame('en')).evaluate(() => document.documentElement.lang)).toBe('en');
    expect(await page.locator('section.edition').count()).toBe(1);
    expect(page.url()).toContain('lang=en');

    await page.click('#lang-switch button[data-lang="both"]');
    await mailFrame('de');
    await mailFrame('en');
    expect(await page.locator('section.edition').count()).toBe(2);
    const subjects = await page.locator('.meta .subject').allInnerTexts();
    expect(subjects).toHaveLength(2);
    expect(subjects[0]).not.toBe(subjects[1]);

    const desktopWidth = await page.locator('section.edition[data-lang="de"] iframe.current').evaluate((f) => f.clientWidth);
    expect(desktopWidth).toBeGreaterThanOrEqual(600);
    await page.click('#width-switch button[data-width="mobile"]');
    for (const lang of ['de', 'en']) {
      const frame = page.locator(`section.edition[data-lang="${lang}"] iframe.current`);
      expect(await frame.evaluate((f) => f.clientWidth)).toBe(375);
      // At 375 px the mail has no horizontal scroll.
      const { scrollWidth, clientWidth } = await (await mailFrame(lang)).evaluate(() => ({
        scrollWidth: document.documentElement.scrollWidth,
        clientWidth: document.documentElement.clientWidth,
      }));
      expect(clientWidth).toBeGreaterThan(300);
      expect(scrollWidth).toBeLessThanOrEqual(clientWidth);
    }

    const api = (await (await fetch(new URL(`api/issues/${slug}`, server.url))).json()) as { editions: { lang: string; text: string; subject: string }[] };
    const deText = api.editions.find((e) => e.lang === 'de')!.text;
    await page.click('#tab-switch button[data-tab="text"]');
    const textPane = page.locator('section.edition[data-lang="de"] pre.source');
    expect((await textPane.innerText()).trimEnd()).toBe(deText.replace(/\r\n/g, '\n').trimEnd());
    await page.click('#tab-switch button[data-tab="html"]');
    expect(await textPane.innerText()).toMatch(/^<!doctype html>/i);
    await page.click('#tab-switch button[data-tab="mjml"]');
    expect(await textPane.innerText()).toMatch(/^<mjml/);
    await page.click('#tab-switch button[data-tab="preview"]');
    await page.click('#width-switch button[data-width="desktop"]');

    // The same switches from the keyboard.
    await page.keyboard.press('t');
    expect(await textPane.isVisible()).toBe(true);
    await page.keyboard.press('p');
    expect(await textPane.isVisible()).toBe(false);
    await page.keyboard.press('w');
    expect(await page.locator('section.edition[data-lang="de"] iframe.current').evaluate((f) => f.clientWidth)).toBe(375);
    await page.keyboard.press('w');
    await page.keyboard.press('l'); // both → de
    expect(await page.locator('section.edition').count()).toBe(1);

    // Header fields and the size meter with Gmail's clipping mark.
    const meta = await page.locator('section.edition[data-lang="de"] .meta').innerText();
    expect(meta).toContain(api.editions.find((e) => e.lang === 'de')!.subject);
    expect(meta).toMatch(/From\s+Depesche <newsletter@localhost>/);
    expect(meta).toMatch(/HTML \d+\.\d KB/);
    expect(await page.locator('section.edition[data-lang="de"] .meter .clip-mark').count()).toBe(1);
  });

  it('shows lint findings with file and line', async () => {
    await page.goto(new URL(`issues/${slug}?lang=de`, server.url).href);
    await page.waitForFunction(() => !document.querySelector('#findings')?.textContent?.includes('Linting'), undefined, { timeout: 20_000 });
    const findings = await page.locator('#findings li.finding').count();
    const api = (await (await fetch(new URL(`api/issues/${slug}`, server.url))).json()) as { findings: { file?: string; line?: number }[] };
    expect(findings).toBe(api.findings.length);
    if (findings === 0) expect(await page.locator('#findings').innerText()).toContain('No findings');
    for (const [i, finding] of api.findings.entries()) {
      if (finding.file && finding.line) {
        await expect(page.locator('#findings li.finding').nth(i).innerText()).resolves.toContain(`${finding.file}:${finding.line}`);
      }
    }
  });

  it('emulates dark mode as a client that prefers dark would render the mail', async () => {
    await page.goto(new URL(`issues/${slug}?lang=de`, server.url).href);
    const light = await (await mailFrame('de')).evaluate(() => getComputedStyle(document.body).backgroundColor);
    await page.check('#dark-toggle');
    await page.waitForFunction(() => document.querySelector('section.edition iframe.current')?.getAttribute('src')?.includes('scheme=dark'));
    const emulated = await (await mailFrame('de')).evaluate(() => getComputedStyle(document.body).backgroundColor);
    // The same mail in a page whose browser really reports prefers-color-scheme: dark.
    const real = await browser.newPage();
    await real.emulateMedia({ colorScheme: 'dark' });
    await real.goto(new URL(`issues/${slug}/de/email.html`, server.url).href);
    const dark = await real.evaluate(() => getComputedStyle(document.body).backgroundColor);
    await real.close();
    expect(light).not.toBe(dark);
    expect(emulated).toBe(dark);
    await page.uncheck('#dark-toggle');
  });

  it('updates on save without a reload, keeps the scroll position, and shows then clears a broken save', async () => {
    await page.goto(new URL(`issues/${slug}?lang=de`, server.url).href);
    await page.waitForFunction(() => !document.querySelector('#findings')?.textContent?.includes('Linting'), undefined, { timeout: 20_000 });
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
    await (await mailFrame('de')).evaluate(() => window.scrollTo(0, 400));

    const timings = await measureLiveUpdates(page, { file: deFile, withToken, runs: 5, settle: () => lintSettled(server.url, slug) });
    const mid = median(timings);
    console.log(`preview save → updated page: ${timings.map((t) => t.toFixed(0)).join(', ')} ms; median ${mid.toFixed(0)} ms (target < 300 ms)`);
    // Generous: other suites share the two cores. `npm run bench -- preview` measures on a quiet machine.
    expect(mid).toBeLessThan(2500);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    const scrollY = await (await mailFrame('de')).evaluate(() => window.scrollY);
    expect(scrollY).toBe(400);

    // A broken save: the overlay names the file and line, the last good mail stays behind it.
    const lines = deSource.split('\n');
    const brokenLine = lines.findIndex((l) => l.startsWith('::: focus')) + 1;
    await writeFile(deFile, deSource.replace('::: focus', '::: fokus'));
    await page.waitForSelector('#overlay:not([hidden])', { timeout: 10_000 });
    expect(await page.locator('#overlay-where').innerText()).toBe(`issues/${slug}/de.md:${brokenLine}`);
    expect(await page.locator('#overlay-message').innerText()).toContain('Unknown block');
    expect(await frameText('de')).toContain('Live-Token-5');

    await writeFile(deFile, withToken('Repaired-Token'));
    await page.waitForSelector('#overlay', { state: 'hidden', timeout: 10_000 });
    await page.waitForFunction(
      () => (document.querySelector('section.edition[data-lang="de"] iframe.current') as HTMLIFrameElement | null)?.contentDocument?.body?.innerText.includes('Repaired-Token'),
    );
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
  });

  it('sends a proof from the form', async () => {
    await page.goto(new URL(`issues/${slug}`, server.url).href);
    const before = smtp.mails.length;
    await page.fill('#proof-form input[name="to"]', 'proof@example.org');
    await page.selectOption('#proof-form select[name="lang"]', 'en');
    await page.click('#proof-form button[type="submit"]');
    await page.waitForSelector('#proof-result.ok');
    expect(await page.locator('#proof-result').innerText()).toBe('Sent EN to proof@example.org.');
    await smtp.waitFor(before + 1);
    const mail = smtp.mails[before]!;
    expect(mail.to).toEqual(['proof@example.org']);
    expect(mail.parsed.subject).toMatch(/^\[Test\] /);
    expect(mail.parsed.headers.get('content-language')).toBe('en');
  });

  it('reconnects after the preview restarts and shows what changed meanwhile', async () => {
    const port = await freePort();
    const options = { port, contentDir: content.dir, publicUrl: 'http://127.0.0.1:4001' };
    let restartable = await startPreviewServer({ ...options, compiler: createCompiler({ contentDir: content.dir }) });
    try {
      await page.goto(new URL(`issues/${slug}?lang=de`, restartable.url).href);
      await mailFrame('de');
      await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));
      await restartable.close();
      await page.waitForSelector('#live.off');
      await writeFile(deFile, withToken('While-Down-Token'));
      restartable = await startPreviewServer({ ...options, compiler: createCompiler({ contentDir: content.dir }) });
      await page.waitForSelector('#live.on', { timeout: 15_000 });
      await page.waitForFunction(
        () => (document.querySelector('section.edition[data-lang="de"] iframe.current') as HTMLIFrameElement | null)?.contentDocument?.body?.innerText.includes('While-Down-Token'),
        undefined,
        { timeout: 15_000 },
      );
      expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    } finally {
      await restartable.close();
    }
  });
});
