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

    await page.goto(`${stack.urls.admin}/campaigns/new?lang=en`, { timeout: 60_000 });
    expect(await page.locator('select[name=list] option:checked').textContent()).toBe('sample (6 active: DE 3 · EN 3)');
    await page.selectOption('select[name=slug]', { index: 0 });
    await page.click('button[name=check]');
    await Promise.all([page.waitForURL(/\/campaigns\/(?!new)[^/]+$/), page.click('button[name=send]')]);
    await expect.poll(() => page.locator('#live .legend').textContent(), { timeout: 45_000 }).toContain('sent 6');
    expect(await page.locator('#live [data-fact=plan]').textContent()).toBe('de 3 · en 3');

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
  it('finds, filters and deletes mails in the inbox, and passes a confirmation mail without List headers', async () => {
    // A sign-up on the public app: its confirmation mail is transactional.
    const signup = await fetch(`${stack.urls.public}/subscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      // No list named: the sign-up joins DEFAULT_LIST (the seeded `sample` list is private).
      body: JSON.stringify({ email: 'neu@example.org', name: 'Jürgen Müller', lang: 'de' }),
    });
    expect(signup.status, await signup.clone().text()).toBe(202);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`${stack.urls.inbox}`);
    await expect.poll(() => page.locator('tbody tr', { hasText: 'neu@example.org' }).count(), { timeout: 20_000 }).toBe(1);
    const confirmation = page.locator('tbody tr', { hasText: 'neu@example.org' });
    expect(await confirmation.locator('td').nth(3).textContent()).toBe('Transactional');
    expect(await confirmation.locator('td.pass').textContent()).toContain('✓ headers');

    const total = await page.locator('tbody tr').count();
    await page.fill('input[name=q]', 'sam.okafor');
    await Promise.all([page.waitForURL(/q=sam\.okafor/), page.click('form.filters button[type=submit]')]);
    expect(await page.locator('tbody tr').count()).toBe(2);
    await page.selectOption('select[name=kind]', 'transactional');
    await Promise.all([page.waitForURL(/kind=transactional/), page.click('form.filters button[type=submit]')]);
    expect(await page.locator('.empty').textContent()).toContain('No mail matches');
    await page.goto(`${stack.urls.inbox}?lang=en`);
    expect(await page.locator('tbody tr').count()).toBe(6);

    // Delete one from its row, then all (after confirming).
    await page.goto(`${stack.urls.inbox}`);
    await Promise.all([page.waitForURL(/\/inbox$/), page.locator('tbody tr').first().getByRole('button', { name: /^Delete/ }).click()]);
    expect(await page.locator('tbody tr').count()).toBe(total - 1);
    page.once('dialog', (dialog) => void dialog.accept());
    await Promise.all([page.waitForURL(/\/inbox$/), page.click('#clear')]);
    expect(await page.locator('.empty').textContent()).toContain('No mail yet');
    expect(stack.inbox.list()).toEqual([]);
    expect(errors).toEqual([]);
  });

  it('has no horizontal scroll at 390 px, and centres the 375 px phone frame', async () => {
    const page = await browser.newPage({ width: 390, height: 844 });
    const scrollWidth = () => page.evaluate(() => document.documentElement.scrollWidth);
    const issues = (await (await fetch(`${stack.urls.admin}/api/issues`)).json()) as { slug: string }[];
    for (const path of ['/', `/issues/${issues[0]!.slug}`, '/inbox', '/inbox?q=x']) {
      await page.goto(`${stack.urls.admin}${path}`);
      await page.waitForLoadState('networkidle').catch(() => {});
      expect([path, await scrollWidth()]).toEqual([path, 390]);
    }
    await page.goto(`${stack.urls.admin}/issues/${issues[0]!.slug}`);
    await page.click('button[data-width=mobile]');
    await page.waitForSelector('.edition.mobile .viewport');
    expect(await scrollWidth()).toBe(390);
    // On the phone the frame shows the mail at its real width.
    expect(await page.locator('.edition.mobile .viewport').evaluate((el) => el.getBoundingClientRect().width)).toBe(377);

    await page.setViewportSize({ width: 1440, height: 900 });
    const [frame, row] = await Promise.all([
      page.locator('.edition.mobile .viewport').evaluate((el) => el.getBoundingClientRect().toJSON() as DOMRect),
      page.locator('#editions').evaluate((el) => el.getBoundingClientRect().toJSON() as DOMRect),
    ]);
    const middle = (r: DOMRect) => r.left + r.width / 2;
    expect(Math.abs(middle(frame) - middle(row))).toBeLessThan(2);
  });
});
