import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import { confirmLink, mailsFor, startPublicSide, type TestPublicSide } from './support/public-side.ts';
import { startRedis, type TestRedis } from './support/redis.ts';
import { startSmtp, type TestSmtp } from './support/smtp.ts';

let redis: TestRedis;
let smtp: TestSmtp;
let side: TestPublicSide;
let browser: TestBrowser;

beforeAll(async () => {
  [redis, smtp, browser] = await Promise.all([startRedis(), startSmtp(), launchBrowser()]);
  side = await startPublicSide(redis, smtp);
  await side.store.setVisibility('digest', 'public', { by: 'test', reason: 'a second public list' });
}, 60_000);
afterAll(async () => {
  await browser?.close();
  await side?.stop();
  await smtp?.close();
  await redis?.stop();
});

/** A phone-sized page that records console errors (a CSP violation shows up there). */
async function phone(): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ width: 390, height: 844 });
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return { page, errors };
}

const fitsWidth = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);

describe('in Chromium', () => {
  for (const lang of ['de', 'en'] as const) {
    it(`signs up at / and confirms on the confirm page, in ${lang}`, async () => {
      const email = `browser-${lang}@example.org`;
      const words = lang === 'de' ? { sent: 'Bitte sehen Sie in Ihr Postfach', ask: 'Bitte bestätigen Sie', button: 'Bestätigen', done: 'Bestätigt' } : { sent: 'Please check your inbox', ask: 'Please confirm', button: 'Confirm', done: 'Confirmed' };
      const { page, errors } = await phone();
      await page.goto(`${side.base}/?lang=${lang}`);
      expect(await fitsWidth(page)).toBe(true);
      await page.fill('#email', email);
      await page.fill('#name', 'Browser Reader');
      await page.check('input[name=list][value=digest]');
      await page.click('button[type=submit]');
      await page.waitForLoadState();
      expect(await page.textContent('h1')).toBe(words.sent);
      const pending = await side.store.findByEmail(email);
      // The browser posted with its real Origin and Referer: accepted, and the form URL recorded.
      expect(pending).toMatchObject({ status: 'pending', lang, request: { lists: ['digest', 'weekly'] } });

      const [mail] = await mailsFor(smtp, email);
      await page.goto(confirmLink(mail!));
      expect(await page.getAttribute('html', 'lang')).toBe(lang);
      expect(await page.textContent('h1')).toBe(words.ask);
      expect(await page.locator('li').allTextContents()).toHaveLength(3);
      expect((await side.store.get(pending!.id))!.status).toBe('pending');
      await page.click(`button:has-text("${words.button}")`);
      await page.waitForLoadState();
      expect(await page.textContent('h1')).toBe(words.done);
      const active = await side.store.get(pending!.id);
      expect(active).toMatchObject({ status: 'active', lists: ['digest', 'weekly'], consent: { formUrl: `${side.base}/?lang=${lang}`, confirmedIp: '127.0.0.1' } });
      expect(errors).toEqual([]);
      await page.close();
    });

    it(`changes language and lists in the preference centre, and unsubscribes one click further, in ${lang}`, async () => {
      const other = lang === 'de' ? 'en' : 'de';
      const { id } = await side.store.upsert({ email: `prefs-browser-${lang}@example.org`, lang }, 'weekly');
      const { page, errors } = await phone();
      await page.goto(`${side.base}/preferences/${side.token('preferences', id)}`);
      expect(await page.getAttribute('html', 'lang')).toBe(lang);
      expect(await page.isChecked(`input[name=lang][value=${lang}]`)).toBe(true);
      expect(await page.isChecked('input[name=list][value=weekly]')).toBe(true);
      expect(await page.isChecked('input[name=list][value=digest]')).toBe(false);
      expect(await fitsWidth(page)).toBe(true);

      await page.check(`input[name=lang][value=${other}]`);
      await page.check('input[name=list][value=digest]');
      await page.click('form:has(input[name=action][value=save]) button');
      await page.waitForLoadState();
      // The page answers in the language just chosen, and says a mail is on its way for digest.
      expect(await page.getAttribute('html', 'lang')).toBe(other);
      expect(await page.textContent('[role=status]')).toContain(other === 'de' ? 'Bestätigen Sie darin' : 'Confirm in it');
      expect(await side.store.get(id)).toMatchObject({ lang: other, lists: ['weekly'], request: { lists: ['digest'] } });
      expect(await page.isChecked('input[name=list][value=digest]')).toBe(false);
      expect(await page.textContent('label:has(input[value=digest])')).toContain(other === 'de' ? 'wartet auf Ihre Bestätigung' : 'waiting for your confirmation');
      await mailsFor(smtp, `prefs-browser-${lang}@example.org`);

      await page.click('form:has(input[name=action][value=unsubscribe]) button');
      await page.waitForLoadState();
      expect(await page.textContent('h1')).toBe(other === 'de' ? 'Sie sind abgemeldet' : 'You are unsubscribed');
      expect(await side.store.get(id)).toMatchObject({ status: 'unsubscribed', unsubscribedVia: 'preferences' });
      expect(errors).toEqual([]);
      await page.close();
    });
  }
});
