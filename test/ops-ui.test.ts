import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDevStack, type DevStack } from '../src/app/dev-stack.ts';
import { createLogger } from '../src/log.ts';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import { freePort } from './support/ports.ts';
import { startRedis, type TestRedis } from './support/redis.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));

describe('admin UI in a browser: send from the campaigns page, read it in the inbox', () => {
  let redis: TestRedis;
  let stack: DevStack;
  let browser: TestBrowser;
  let cwd: string;

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'depesche-ui-'));
    redis = await startRedis();
    let port = await freePort();
    if (port > 65000) port = await freePort();
    stack = await startDevStack({
      port,
      cwd,
      env: { REDIS_URL: redis.url, CONTENT_DIR: repo, LOG_LEVEL: 'silent' },
      logger: createLogger({ level: 'silent', pretty: false }),
    });
    browser = await launchBrowser();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    await redis?.stop();
    rmSync(cwd, { recursive: true, force: true });
  });

  it('sends the sample list an issue from the form, and the inbox shows each mail with its checks', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));

    await page.goto(`${stack.urls.admin}/campaigns`);
    await expect.poll(() => page.locator('#lists tr').first().textContent()).toContain('sample');
    expect(await page.locator('#lists tr').first().textContent()).toContain('DE 3 · EN 3');
    await page.selectOption('select[name=slug]', { index: 0 });
    await page.click('button[name=send]');
    await expect.poll(() => page.locator('#rows tr').first().textContent(), { timeout: 20_000 }).toMatch(/done.*sent 6/);

    await page.goto(`${stack.urls.inbox}`);
    expect(await page.locator('tbody tr').count()).toBe(6);
    expect(await page.locator('tbody td.pass').count()).toBe(6);
    await page.locator('tbody tr a').first().click();
    await page.waitForSelector('h2#checks');
    const failed = await page.locator('td.fail').count();
    expect(failed).toBe(0);
    // The mail's HTML renders inside the sandboxed frame, not in the admin page.
    const frame = page.frameLocator('iframe[sandbox]');
    await expect.poll(() => frame.locator('body').textContent()).toMatch(/\S{20,}/);
    expect(await page.locator('iframe').getAttribute('sandbox')).toBe('');
    expect(errors).toEqual([]);
  });

  it('updates the inbox list live when a mail arrives', async () => {
    const page = await browser.newPage();
    await page.goto(`${stack.urls.inbox}`);
    const before = await page.locator('tbody tr').count();
    const issues = (await (await fetch(`${stack.urls.admin}/api/issues`)).json()) as { slug: string }[];
    const created = await fetch(`${stack.urls.admin}/api/campaigns`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ slug: issues.at(-1)!.slug, list: 'sample', again: true }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    await expect.poll(() => page.locator('tbody tr').count(), { timeout: 30_000 }).toBe(before + 6);
  });
});
