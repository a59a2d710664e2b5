import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevStack, type DevStack } from '../src/app/dev-stack.ts';
import { createLogger } from '../src/log.ts';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import { freePort } from './support/ports.ts';
import { startRedis, type TestRedis } from './support/redis.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));

interface Listed {
  id: string;
  slug: string;
  state: string;
  sent: number;
}

/** The console's campaign pages in Chromium, against `depesche dev` on a private Redis. */
describe('console: campaign pages in a browser', () => {
  let redis: TestRedis;
  let stack: DevStack;
  let browser: TestBrowser;
  let cwd: string;
  let slugs: string[];

  const api = async <T>(path: string, body?: unknown): Promise<T> => {
    const res = await fetch(`${stack.urls.admin}${path}`, body ? { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {});
    expect(res.ok, await res.clone().text()).toBe(true);
    return (await res.json()) as T;
  };
  const campaigns = async () => (await api<{ campaigns: Listed[] }>('/api/campaigns')).campaigns;
  const badge = (page: Page) => page.locator('#live .live-head .badge').textContent();
  const sentOn = async (page: Page) => Number(await page.locator('#live [data-count=sent] b').textContent());
  const posts = (page: Page, suffix: string) => {
    const seen: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && new URL(r.url()).pathname.endsWith(suffix)) seen.push(r.url());
    });
    return seen;
  };
  const onCampaignPage = (url: URL) => /^\/campaigns\/(?!new$)[^/]+$/.test(url.pathname);

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'depesche-console-'));
    redis = await startRedis();
    stack = await startDevStack({
      port: await freePort(),
      cwd,
      env: { REDIS_URL: redis.url, CONTENT_DIR: repo, LOG_LEVEL: 'silent' },
      logger: createLogger({ level: 'silent', pretty: false }),
    });
    browser = await launchBrowser();
    // The sample issues' folders start with their date: newest first is reverse order.
    slugs = ((await (await fetch(`${stack.urls.admin}/api/issues`)).json()) as { slug: string }[]).map((i) => i.slug).sort().reverse();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await redis?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('sends after a dry run whose confirmation names the numbers, once on a double-click, and shows the progress live to done', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`${stack.urls.admin}/campaigns/new?lang=en`, { timeout: 60_000 });

    // Newest sendable issue first, and chosen.
    const options = await page.locator('select[name=slug] option').evaluateAll((os) => os.map((o) => ({ value: (o as HTMLOptionElement).value, selected: (o as HTMLOptionElement).selected })));
    expect(options.map((o) => o.value)).toEqual(slugs);
    expect(options[0]!.selected).toBe(true);
    // No result box before there is a result.
    expect(await page.locator('#dry-run, pre').count()).toBe(0);

    await page.click('button[name=check]');
    await page.waitForSelector('#dry-run');
    expect(await page.locator('#dry-run [data-fact=recipients]').textContent()).toBe('6');
    expect(await page.locator('#dry-run table.by-lang tbody tr').allTextContents()).toEqual(['German3own edition', 'English3own edition']);
    expect(await page.locator('button[name=send]').textContent()).toBe('Send to 6 recipients of sample');
    expect(await page.locator('main').textContent()).not.toMatch(/[{}]"/);
    expect(await campaigns()).toEqual([]);

    const sends = posts(page, '/campaigns/new');
    await Promise.all([page.waitForURL(onCampaignPage), page.dblclick('button[name=send]')]);
    expect(sends).toHaveLength(1);
    const made = await campaigns();
    expect(made.map((c) => c.slug)).toEqual([slugs[0]]);
    expect(page.url()).toBe(`${stack.urls.admin}/campaigns/${made[0]!.id}`);

    // The page is not reloaded: server-sent events carry the progress.
    await page.evaluate(() => Object.assign(window, { stayed: true }));
    await expect.poll(() => badge(page), { timeout: 45_000 }).toBe('done');
    expect(await sentOn(page)).toBe(6);
    expect(await page.locator('#live [role=progressbar]').getAttribute('aria-valuenow')).toBe('100');
    expect(await page.evaluate(() => (window as unknown as { stayed?: boolean }).stayed)).toBe(true);
    // A finished campaign offers the send to the rest and nothing that changes it.
    expect(await page.locator('#actions a', { hasText: 'Send to the rest' }).isVisible()).toBe(true);
    for (const verb of ['pause', 'resume', 'cancel', 'update']) expect(await page.locator(`button[data-verb=${verb}]`).isVisible()).toBe(false);
    // Headed by the title from the frozen edition, linked to the issue, its list and the readers behind the answers.
    expect(await page.locator('h1').textContent()).toBe('China AI2X Briefing');
    const hrefs = (selector: string) => page.locator(selector).evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    expect(await hrefs('.page-head .muted a')).toEqual([`/issues/${slugs[0]}`, '/lists/sample']);
    expect(await hrefs('#reader-links a')).toEqual(['/subscribers?list=sample&status=bounced', '/subscribers?list=sample&status=complained', '/subscribers?list=sample']);

    // The list shows it with its bar.
    await page.goto(`${stack.urls.admin}/campaigns`);
    const row = page.locator(`tr[data-id="${made[0]!.id}"]`);
    expect(await row.locator('.badge').textContent()).toBe('done');
    expect(await row.locator('.progress-cell').textContent()).toContain('6 of 6 · 100 %');
    expect(errors).toEqual([]);
  }, 120_000);

  it('pauses (one request for a double-click), updates the editions while paused, and resumes a running send', async () => {
    // The first test sent this issue to the list already; this is a second send to everyone, slowly.
    const created = await api<{ id: string }>('/api/campaigns', { slug: slugs[0], list: 'sample', rate: 1, again: true });
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`${stack.urls.admin}/campaigns/${created.id}?lang=en`);
    await expect.poll(() => sentOn(page), { timeout: 30_000 }).toBeGreaterThanOrEqual(1);

    const pauses = posts(page, '/pause');
    await page.dblclick('button[data-verb=pause]');
    await expect.poll(() => badge(page), { timeout: 15_000 }).toBe('paused');
    expect(pauses).toHaveLength(1);
    expect(await page.locator('#action-result').textContent()).toContain('Paused');
    expect(await page.locator('button[data-verb=pause]').isVisible()).toBe(false);
    expect(await page.locator('button[data-verb=resume]').isVisible()).toBe(true);

    // Paused holds: a message in flight may land, nothing after it.
    await page.waitForTimeout(1500);
    const held = await sentOn(page);
    expect(held).toBeLessThan(6);
    await page.waitForTimeout(2500);
    expect(await sentOn(page)).toBe(held);
    expect((await campaigns()).find((c) => c.id === created.id)!.sent).toBe(held);

    // While paused, the editions can be replaced from the files as they are now.
    await page.click('button[data-verb=update]');
    expect(await page.locator('dialog#confirm').textContent()).toContain(`The ${held} recipients sent to already keep the earlier text`);
    await page.locator('dialog#confirm button[value=ok]').click();
    await expect.poll(() => page.locator('#action-result').textContent(), { timeout: 30_000 }).toContain('The editions are replaced (version 2).');
    expect(await page.locator('#action-result').textContent()).toMatch(/DE: .+ → .+EN: .+ → /);
    await expect.poll(() => page.locator('[data-fact=version]').textContent()).toBe('2');

    await page.click('button[data-verb=resume]');
    await expect.poll(() => badge(page), { timeout: 30_000 }).toBe('done');
    expect(await sentOn(page)).toBe(6);
    expect(errors).toEqual([]);
  }, 90_000);

  it('schedules at a time in an explicit zone, and cancels after a confirmation that names the numbers', async () => {
    const page = await browser.newPage();
    // A German-only issue: the dry run says what the English readers get (EDITION_FALLBACK=other).
    await page.goto(`${stack.urls.admin}/campaigns/new?slug=${slugs[1]}&lang=en`);
    await page.click('button[name=check]');
    await page.waitForSelector('#dry-run');
    expect(await page.locator('#dry-run table.by-lang tbody tr').allTextContents()).toEqual(['German3own edition', 'English3gets the DE edition']);
    expect(await page.locator('button[name=send]').textContent()).toBe('Send to 6 recipients of sample');

    await page.goto(`${stack.urls.admin}/campaigns/new?slug=${slugs[2]}&lang=en`);
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    await page.check('input[name=when][value=at]');
    await page.fill('input[name=at]', `${tomorrow}T09:00`);
    await page.selectOption('select[name=zone]', 'Asia/Shanghai');
    await page.click('button[name=check]');
    await page.waitForSelector('#dry-run');
    expect(await page.locator('#dry-run').textContent()).toContain('Asia/Shanghai');
    expect(await page.locator('button[name=send]').textContent()).toBe('Schedule for 6 recipients of sample');
    await Promise.all([page.waitForURL(onCampaignPage, { timeout: 60_000 }), page.click('button[name=send]')]).catch(async (error) => {
      throw new Error(`${(error as Error).message}\n${await page.locator('main').innerText()}`);
    });

    expect(await badge(page)).toBe('scheduled');
    // 09:00 in Shanghai (UTC+8) is 01:00 UTC.
    expect(await page.locator('[data-fact=at] time').getAttribute('datetime')).toBe(`${tomorrow}T01:00:00.000Z`);

    await page.click('button[data-verb=cancel]');
    const dialog = page.locator('dialog#confirm');
    expect(await dialog.isVisible()).toBe(true);
    expect(await dialog.textContent()).toContain('6 recipients not sent to yet will get nothing');
    // Backing out changes nothing.
    await dialog.locator('button[value=cancel]').click();
    expect(await page.locator('button[data-verb=cancel]').isEnabled()).toBe(true);
    await page.click('button[data-verb=cancel]');
    await dialog.locator('button[value=ok]').click();
    await expect.poll(() => badge(page), { timeout: 15_000 }).toBe('cancelled');
    expect(await page.locator('#actions a', { hasText: 'Send to the rest' }).isVisible()).toBe(true);
  }, 90_000);

  it('fits a 390 px phone without horizontal scroll, in German and English', async () => {
    const [first] = await campaigns();
    const page = await browser.newPage({ width: 390, height: 844 });
    const scrollWidth = () => page.evaluate(() => document.documentElement.scrollWidth);
    for (const lang of ['de', 'en']) {
      for (const path of [`/campaigns?lang=${lang}`, '/campaigns/new', `/campaigns/${first!.id}`, '/campaigns/no-such-campaign']) {
        await page.goto(`${stack.urls.admin}${path}`);
        expect([path, await scrollWidth()]).toEqual([path, 390]);
        expect(await page.getAttribute('html', 'lang')).toBe(lang);
      }
      await page.goto(`${stack.urls.admin}/campaigns/new`);
      await page.click('button[name=check]');
      await page.waitForSelector('#dry-run');
      expect(['confirmation', await scrollWidth()]).toEqual(['confirmation', 390]);
    }
    await page.goto(`${stack.urls.admin}/campaigns?lang=de`);
    expect(await page.locator('h1').textContent()).toBe('Kampagnen');
    expect(await page.locator('.topbar .nav').allTextContents()).toEqual(['Vorschau', 'Kampagnen', 'Abonnenten', 'Listen', 'Import', 'Posteingang', 'Warteschlangen', 'Metriken']);
    const nowhere = await page.goto(`${stack.urls.admin}/no/such/page`);
    expect(nowhere!.status()).toBe(404);
    expect(await page.locator('.error-page').textContent()).toContain('/no/such/page');
    // An unknown campaign is a page, not a JSON error.
    const missing = await page.goto(`${stack.urls.admin}/campaigns/no-such-campaign`);
    expect(missing!.status()).toBe(404);
    expect(await page.locator('.error-page h1').textContent()).toContain('404');
  }, 90_000);

  it('lists who bounced in a campaign, each leading to their page, which leads back to the campaign', async () => {
    // bounce@example.org gets a DSN back through the dev stack's return channel.
    const imported = await fetch(`${stack.urls.admin}/import/upload?list=sample&lang=en`, { method: 'POST', headers: { 'content-type': 'text/csv', accept: 'application/json' }, body: 'email,name\nbounce@example.org,Bo Unce\n' });
    expect(imported.status, await imported.clone().text()).toBe(200);
    const created = await api<{ id: string }>('/api/campaigns', { slug: slugs[1], list: 'sample', again: true });
    await expect.poll(async () => (await api<{ state: string; bounced: number }>(`/api/campaigns/${created.id}`)).bounced, { timeout: 60_000 }).toBe(1);
    const page = await browser.newPage();
    await page.goto(`${stack.urls.admin}/campaigns/${created.id}?lang=en`);
    const rows = page.locator('#troubled tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.textContent()).toMatch(/bounce@example\.org.*bounced.*5\.1\.1/);
    await Promise.all([page.waitForURL(/\/subscribers\/[^/?]+$/), rows.locator('a').click()]);
    expect(await page.locator('h1').textContent()).toBe('bounce@example.org');
    expect(await page.locator(`section:has(h2:text("Deliveries")) a[href="/campaigns/${created.id}"]`).count()).toBe(1);
  }, 90_000);
});
