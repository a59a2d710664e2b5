// Regenerates the console screenshots in docs/: `npx node test/console-screenshot.ts`.
// Runs `depesche dev` on a private Redis, sends the sample list an issue through the
// campaign pages (at one message a second, so the progress is caught halfway) and
// photographs the list, the form's confirmation and the campaign page in headless Chromium.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startDevStack } from '../src/app/dev-stack.ts';
import { createLogger } from '../src/log.ts';
import { launchBrowser } from './support/browser.ts';
import { freePort } from './support/ports.ts';
import { startRedis } from './support/redis.ts';

const repo = resolve(import.meta.dirname, '..');
const docs = join(repo, 'docs');
const only = process.argv[2];
const cwd = mkdtempSync(join(tmpdir(), 'depesche-shots-'));
const redis = await startRedis();
const stack = await startDevStack({
  port: await freePort(),
  cwd,
  env: { REDIS_URL: redis.url, CONTENT_DIR: repo, LOG_LEVEL: 'silent' },
  logger: createLogger({ level: 'silent', pretty: false }),
});
const browser = await launchBrowser();
try {
  const page = await browser.newPage({ width: 1280, height: 860 });
  const shot = async (file: string, full = false) => {
    if (only && !file.includes(only)) return;
    await page.waitForTimeout(250);
    await page.screenshot({ path: join(docs, file), fullPage: full });
    console.log(`wrote docs/${file}`);
  };
  await page.goto(`${stack.urls.admin}/campaigns/new?lang=en`);
  await page.fill('input[name=rate]', '1');
  await shot('console-new.png');
  await page.click('button[name=check]');
  await page.waitForSelector('#dry-run');
  await shot('console-confirm.png');
  await page.click('button[name=send]');
  await page.waitForURL(/\/campaigns\/[^/]+$/);
  await page.waitForFunction(() => /gesendet|sent [1-9]/.test(document.querySelector('#live .legend')?.textContent ?? ''), undefined, { timeout: 30_000 });
  await page.waitForFunction(() => Number(document.querySelector('#live [role=progressbar]')?.getAttribute('aria-valuenow')) >= 30, undefined, { timeout: 30_000 });
  await shot('console-campaign.png');
  await page.goto(`${stack.urls.admin}/campaigns`);
  await shot('console-campaigns.png');
  const phone = await browser.newPage({ width: 390, height: 844 });
  await phone.goto(`${stack.urls.admin}/campaigns?lang=de`);
  await phone.waitForTimeout(250);
  const phoneShot = async (file: string) => {
    if (only && !file.includes(only)) return;
    await phone.waitForTimeout(250);
    await phone.screenshot({ path: join(docs, file), fullPage: true });
    console.log(`wrote docs/${file}`);
  };
  await phoneShot('console-campaigns-390.png');
  await phone.locator('table.campaigns a.issue-link').first().click();
  await phone.waitForSelector('#live[data-connected=true]');
  await phoneShot('console-campaign-390.png');
} finally {
  await browser.close();
  await stack.close();
  await redis.stop();
  rmSync(cwd, { recursive: true, force: true });
}
