import { readFile } from 'node:fs/promises';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from './support/browser.ts';
import { reindex, seedDeliveries, seedSubscribers, startConsole, type TestConsole } from './support/console.ts';
import { startRedis, type TestRedis } from './support/redis.ts';

/**
 * The ops console's subscriber, list and import pages in Chromium, against a real Redis
 * holding 100,000 subscribers.
 */

const SEEDED = 100_000;
const TOKEN = 'console-test-token-0123456789';

describe('ops console: subscribers, lists and import in a browser', () => {
  let server: TestRedis;
  let ops: TestConsole;
  let browser: TestBrowser;

  beforeAll(async () => {
    server = await startRedis({ args: ['--appendonly', 'no'] });
    ops = await startConsole({ server });
    const ms = await seedSubscribers(ops.store, 'weekly', SEEDED, (i) => ({
      email: `reader${i}@example${i % 97}.org`,
      name: `Reader Number${i}`,
      lang: i % 3 ? 'de' : 'en',
    }));
    console.log(`seeded ${SEEDED} subscribers (with their search entries) in ${Math.round(ms)} ms`);
    // Every write kept the index, so the migration finds an entry per address and only marks it built.
    console.log(`search index migration over ${SEEDED} indexed subscribers: ${Math.round(await reindex(ops.store))} ms`);
    await ops.store.upsert({ email: 'joerg.mueller@kanzlei.example', name: 'Jörg Müller-Lüdenscheidt', lang: 'de' }, 'weekly');
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await ops?.close();
    await server?.stop();
  });

  const noHorizontalScroll = (page: Page) => page.evaluate(() => document.documentElement.scrollWidth <= document.documentElement.clientWidth);

  it('finds one subscriber among 100,000 by a word of their name, fast, and opens them', async () => {
    const page = await browser.newPage();
    await page.goto(`${ops.url}/subscribers`);
    await page.fill('input[name=q]', 'müller');
    const started = performance.now();
    await Promise.all([page.waitForURL(/q=/), page.click('form.filters button[type=submit]')]);
    const wall = performance.now() - started;
    const rows = page.locator('#results tbody tr');
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('joerg.mueller@kanzlei.example');
    const stats = (await page.locator('#search-stats').textContent())!;
    const serverMs = Number(/([\d.]+) ms/.exec(stats)?.[1]);
    console.log(`search among ${SEEDED}: ${serverMs} ms in the server, ${Math.round(wall)} ms from click to page`);
    // Generous for a loaded two-core machine; single-digit milliseconds are usual.
    expect(serverMs).toBeLessThan(250);

    // A prefix of the address over a larger match set pages with the cursor.
    const prefix = await searchMs(page, 'reader1234');
    expect(await page.locator('#results tbody tr').count()).toBe(11);
    console.log(`prefix search "reader1234" (11 hits) among ${SEEDED}: ${prefix} ms in the server`);
    const broad = await searchMs(page, 'reader');
    expect(await page.locator('#results tbody tr').count()).toBe(50);
    expect(await page.locator('a[rel=next]').count()).toBe(1);
    console.log(`prefix search "reader" (first 50 of ${SEEDED}): ${broad} ms in the server`);

    await page.goto(`${ops.url}/subscribers?q=m%C3%BCller`);
    await page.click('#results a');
    await page.waitForSelector('dl.facts');
    expect(await page.locator('h1').textContent()).toBe('joerg.mueller@kanzlei.example');
    expect(await page.locator('dl.facts').textContent()).toContain('Jörg Müller-Lüdenscheidt');
    expect(await page.locator('dl.facts').textContent()).toContain('weekly');
  });

  it('filters by list, status and language on the server: the HTML holds the results, no script needed', async () => {
    const response = await fetch(`${ops.url}/subscribers?q=reader4243&language=en&list=weekly`, { headers: { accept: 'text/html' } });
    const text = await response.text();
    // reader4243 is German (4243 % 3 = 1); of 42430…42439 the multiples of 3 are English.
    expect(text.match(/reader\d+@/g)).toEqual(['reader42432@', 'reader42435@', 'reader42438@']);
    const bounced = await fetch(`${ops.url}/subscribers?status=bounced`).then((r) => r.text());
    expect(bounced).toContain('No subscriber matches.');
  });

  it('keeps the search and its filters when the language is switched', async () => {
    const page = await browser.newPage();
    // The readers' language filter is its own parameter: choosing English readers leaves the console German.
    await page.goto(`${ops.url}/subscribers?q=reader4243&lang=de&list=weekly&language=en`);
    expect(await page.locator('html').getAttribute('lang')).toBe('de');
    expect(await page.locator('select[name=language]').inputValue()).toBe('en');
    await page.goto(`${ops.url}/subscribers?q=reader4243&lang=en&list=weekly`);
    const hits = await page.locator('#results tbody tr').count();
    expect(hits).toBe(11);
    try {
      await Promise.all([page.waitForURL(/lang=de/), page.click('.lang-switch a[hreflang=de]')]);
      const url = new URL(page.url());
      expect(Object.fromEntries(url.searchParams)).toEqual({ q: 'reader4243', lang: 'de', list: 'weekly' });
      expect(await page.locator('input[name=q]').inputValue()).toBe('reader4243');
      expect(await page.locator('#results tbody tr').count()).toBe(hits);
      await Promise.all([page.waitForURL(/lang=en/), page.click('.lang-switch a[hreflang=en]')]);
      expect(new URL(page.url()).searchParams.get('list')).toBe('weekly');
    } finally {
      // English again: the choice is a cookie, and the tests after this one read English.
      await page.goto(`${ops.url}/subscribers?lang=en`);
    }
  });

  it('changes a list’s visibility from its page', async () => {
    const page = await browser.newPage();
    await page.goto(`${ops.url}/lists`);
    expect(await page.locator('#lists tr[data-list=weekly]').textContent()).toContain(String(SEEDED + 1));
    await page.click('#lists tr[data-list=weekly] a');
    expect(await page.locator('#visibility').textContent()).toContain('private');
    await page.fill('form[action$="/visibility"] input[name=reason]', 'weekly goes on the sign-up form');
    await page.click('form[action$="/visibility"] button');
    await page.waitForURL(/done=public/);
    expect(await page.locator('#visibility').textContent()).toContain('public');
    expect(await ops.store.visibility(['weekly'], 'newsletter')).toEqual({ weekly: 'public' });
    const log = await ops.store.opsLog();
    expect(log.at(-1)).toMatchObject({ event: 'list-visibility', by: 'admin-console', reason: 'weekly goes on the sign-up form' });
  });

  it('uploads a CSV with bad rows, shows progress and the report, and offers the report for download', async () => {
    const rows = ['email,name,lang', 'good1@import.example,Gute Eins,de', 'not-an-address,Bad,de', 'good2@import.example,"Zwei, mit Komma",en', 'good3@import.example,Drei,xx'];
    for (let i = 0; i < 3000; i++) rows.push(`bulk${i}@import.example,Bulk ${i},en`);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`${ops.url}/import`);
    await page.setInputFiles('input[type=file]', { name: 'bad rows.csv', mimeType: 'text/csv', buffer: Buffer.from(`${rows.join('\r\n')}\r\n`) });
    await page.fill('input[name=list]', 'imported');
    await page.click('#import button[type=submit]');
    await page.waitForSelector('#summary');
    expect(await page.locator('.progress span').getAttribute('style')).toContain('100%');
    expect(await page.locator('#summary').textContent()).toContain('3004 rows read: 3002 new');
    const rejected = page.locator('#rejected tbody tr');
    expect(await rejected.count()).toBe(2);
    expect(await rejected.nth(0).textContent()).toMatch(/^3.*not a valid address/);
    expect(await rejected.nth(1).textContent()).toMatch(/^5.*lang must be/);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#report-link')]);
    const report = await readFile((await download.path())!, 'utf8');
    expect(report.split('\n')[0]).toBe('row,reason,email,name,lang,status');
    expect(report).toContain('3,');
    expect(report).toContain('good3@import.example');
    expect((await ops.store.findByEmail('good2@import.example'))?.name).toBe('Zwei, mit Komma');
    // The page's script and console.js run side by side without a clash of names.
    expect(errors).toEqual([]);
  });

  it('imports an upload as it streams in: the first rows are in Redis before the last bytes are sent', async () => {
    const url = new URL(`${ops.url}/import/upload?list=streamed&file=big.csv`);
    const rows = (from: number, to: number) => Array.from({ length: to - from }, (_, k) => `stream${from + k}@upload.example,Stream ${from + k}\n`).join('');
    const request = http.request(url, { method: 'POST', headers: { 'content-type': 'text/csv', origin: ops.url } });
    const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
      request.on('response', (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      });
      request.on('error', reject);
    });
    // More than the megabyte of plain ASCII the importer looks at before it settles the encoding.
    request.write(`email,name\n${rows(0, 30_000)}`);
    // The body is still open: a server that waited for the whole file would have stored nothing yet.
    await expect.poll(() => ops.store.findByEmail('stream0@upload.example'), { timeout: 20_000 }).not.toBeNull();
    expect(await ops.store.findByEmail('stream39999@upload.example')).toBeNull();
    request.end(rows(30_000, 40_000));
    const { status, body } = await answer;
    expect(status, body).toBe(200);
    expect(JSON.parse(body).summary).toMatchObject({ rows: 40_000, created: 40_000, rejected: 0 });
  });

  it('exports a list with formulas neutralised, and the file imports back unchanged', async () => {
    await ops.store.upsertMany(
      [
        { email: 'formula@export.example', name: '=HYPERLINK("http://evil.example","Click")', lang: 'en' },
        { email: 'plus@export.example', name: '+49 Müller', lang: 'de' },
        { email: 'plain@export.example', name: "'Tis Jones", lang: 'de', status: 'unsubscribed' },
      ],
      'exportable',
    );
    const page = await browser.newPage();
    await page.goto(`${ops.url}/lists/exportable`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('a[href$="export.csv"]')]);
    const csv = await readFile((await download.path())!, 'utf8');
    expect(csv).toContain(`"'=HYPERLINK(""http://evil.example"",""Click"")"`);
    expect(csv).toContain("'+49 Müller");
    expect(csv).not.toMatch(/^[^\n]*,=/m);

    // Back in through the browser's upload, into a new list: the same people, unchanged.
    await page.goto(`${ops.url}/import`);
    await page.setInputFiles('input[type=file]', { name: 'exportable.csv', mimeType: 'text/csv', buffer: Buffer.from(csv) });
    await page.fill('input[name=list]', 'round-trip');
    await page.click('#import button[type=submit]');
    await page.waitForSelector('#summary');
    expect(await page.locator('#summary').textContent()).toContain('3 rows read: 0 new, 0 updated, 3 unchanged');
    expect((await ops.store.findByEmail('formula@export.example'))?.name).toBe('=HYPERLINK("http://evil.example","Click")');
  });

  it('deletes a list only with its member count confirmed, and never the sign-up list', async () => {
    const page = await browser.newPage();
    await page.goto(`${ops.url}/lists/round-trip/delete`);
    expect(await page.locator('#delete-warning').textContent()).toContain('all 3 members');
    await page.fill('input[name=confirm]', '5');
    await page.fill('input[name=reason]', 'test list');
    await page.click('button.danger');
    expect(await page.locator('.notice.error').first().textContent()).toContain('has 3 members, not 5');
    expect(await ops.store.listExists('round-trip')).toBe(true);
    await page.fill('input[name=confirm]', '3');
    await page.fill('input[name=reason]', 'test list');
    await page.click('button.danger');
    await page.waitForURL(/deleted=round-trip/);
    expect(await ops.store.listExists('round-trip')).toBe(false);
    expect((await ops.store.findByEmail('plus@export.example'))?.left['round-trip']).toBeTruthy();
    expect((await ops.store.lists()).map((l) => l.name)).not.toContain('round-trip');

    await ops.store.createList('newsletter');
    await page.goto(`${ops.url}/lists/newsletter/delete`);
    await page.fill('input[name=confirm]', '0');
    await page.fill('input[name=reason]', 'tidying up');
    await page.click('button.danger');
    expect(await page.locator('.notice.error').first().textContent()).toContain('default list');
    expect(await ops.store.listExists('newsletter')).toBe(true);
  });

  it('has no horizontal scroll at 390 px on any of its pages, in English and German', async () => {
    const page = await browser.newPage({ width: 390, height: 844 });
    const joerg = await ops.store.findByEmail('joerg.mueller@kanzlei.example');
    for (const path of ['/subscribers?q=reader', `/subscribers/${joerg!.id}`, `/subscribers/${joerg!.id}/forget`, '/lists', '/lists/weekly', '/lists/weekly/delete', '/import']) {
      // English last: the choice is kept in a cookie, and the tests after this one read English.
      for (const lang of ['de', 'en']) {
        await page.goto(`${ops.url}${path}${path.includes('?') ? '&' : '?'}lang=${lang}`);
        expect(await noHorizontalScroll(page), `${path} in ${lang}`).toBe(true);
      }
    }
  });

  it('asks for the token for every console page and action when the admin app is public', async () => {
    const open = await startConsole({ server, host: '0.0.0.0', token: TOKEN });
    try {
      const joerg = await open.store.findByEmail('joerg.mueller@kanzlei.example');
      const attempts = [
        fetch(`${open.url}/lists/weekly/visibility`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'visibility=private&reason=attack' }),
        fetch(`${open.url}/subscribers/${joerg!.id}/forget`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `confirm=${joerg!.email}&reason=attack` }),
        fetch(`${open.url}/import/upload?list=weekly`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: 'email\nx@y.example\n' }),
        fetch(`${open.url}/lists/weekly/export.csv`),
        fetch(`${open.url}/subscribers?q=reader`),
      ];
      for (const response of await Promise.all(attempts)) expect(response.status).toBe(401);
      expect(await open.store.findByEmail('joerg.mueller@kanzlei.example')).not.toBeNull();
      expect(await open.store.findByEmail('x@y.example')).toBeNull();
      const allowed = await fetch(`${open.url}/subscribers?q=joerg`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(allowed.status).toBe(200);
      expect(await allowed.text()).toContain('joerg.mueller@kanzlei.example');
    } finally {
      await open.close();
    }
  });

  it('shows deliveries from the ledgers and the bounce, and reactivates a bounce (never a complaint)', async () => {
    const joerg = (await ops.store.findByEmail('joerg.mueller@kanzlei.example'))!;
    await seedDeliveries(ops.store, joerg.id, 'weekly');
    const page = await browser.newPage();
    await page.goto(`${ops.url}/subscribers/${joerg.id}`);
    const deliveries = await page.locator('section:has(h2:text("Deliveries")) tbody').textContent();
    expect(deliveries).toMatch(/cmay2.*2026-05-11-briefing.*weekly.*bounced.*user unknown/s);
    expect(deliveries).toMatch(/cmay1.*2026-05-04-briefing.*weekly.*sent/s);
    // Each delivery leads to its campaign's page.
    expect(await page.locator('section:has(h2:text("Deliveries")) tbody a').evaluateAll((as) => as.map((a) => a.getAttribute('href')))).toEqual(['/campaigns/cmay2', '/campaigns/cmay1']);
    expect(await page.locator('section:has(h2:text("Bounces and complaints"))').textContent()).toContain('5.1.1');
    // Every form that changes something posts once: its buttons are disabled while it runs.
    expect(await page.locator('form[method=post]').count()).toBeGreaterThan(2);
    expect(await page.locator('form[method=post]:not([data-once])').count()).toBe(0);
    // The results are labelled in the page's language, like the campaign pages.
    await page.goto(`${ops.url}/subscribers/${joerg.id}?lang=de`);
    expect(await page.locator('section:has(h2:text("Zustellungen")) tbody .badge').allTextContents()).toEqual(['unzustellbar', 'gesendet']);
    expect(await page.locator('section:has(h2:text("Bounces und Beschwerden")) .badge').first().textContent()).toBe('unzustellbar');
    // The consent history names its events in German too, with the stored name on hover.
    const bounceEvent = page.locator('section:has(h2:text("Einwilligungsverlauf")) td[title=bounced]').first();
    expect(await bounceEvent.textContent()).toBe('unzustellbar');
    await page.goto(`${ops.url}/subscribers/${joerg.id}?lang=en`);
    expect(await page.locator('dl.facts').textContent()).toContain('bounced');

    await page.fill('form[action$="/reactivate"] input[name=reason]', 'mailbox exists again, reader called');
    await page.click('form[action$="/reactivate"] button');
    await page.waitForURL(/done=reactivated/);
    expect(await page.locator('dl.facts').textContent()).toContain('active');
    expect((await ops.store.consentLog(joerg.id)).at(-1)).toMatchObject({ event: 'reactivated', by: 'admin-console', reason: 'mailbox exists again, reader called' });

    const angry = await ops.store.upsert({ email: 'angry@complaints.example', name: 'Angry' }, 'weekly');
    await ops.store.complain(angry.id, { reason: 'ARF abuse report', source: 'inbound' });
    await page.goto(`${ops.url}/subscribers/${angry.id}`);
    expect(await page.locator('form[action$="/reactivate"]').count()).toBe(0);
    // Even a hand-made post is refused, with the reason on the page.
    const forced = await page.evaluate(async (id) => {
      const response = await fetch(`/subscribers/${id}/reactivate`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'reason=trying+anyway' });
      return { status: response.status, text: await response.text() };
    }, angry.id);
    expect(forced.status).toBe(409);
    expect(forced.text).toContain('complained');
    expect((await ops.store.get(angry.id))?.status).toBe('complained');
  });

  it('erases a subscriber after the address is typed, and keeps a record that it happened', async () => {
    const joerg = await ops.store.findByEmail('joerg.mueller@kanzlei.example');
    const page = await browser.newPage();
    await page.goto(`${ops.url}/subscribers/${joerg!.id}`);
    await page.click('a.btn.danger');
    await page.fill('input[name=confirm]', 'someone@else.example');
    await page.fill('input[name=reason]', 'Art. 17 request by mail');
    await page.click('button.danger');
    expect(await page.locator('.notice.error').first().textContent()).toContain('not this subscriber');
    expect(await ops.store.get(joerg!.id)).not.toBeNull();
    await page.fill('input[name=confirm]', 'Joerg.Mueller@kanzlei.example');
    await page.fill('input[name=reason]', 'Art. 17 request by mail');
    const started = performance.now();
    await Promise.all([page.waitForURL(/erased=1/), page.click('button.danger')]);
    console.log(`erasure among ${SEEDED} (with the scan of the search index): ${Math.round(performance.now() - started)} ms from click to page`);
    expect(await ops.store.get(joerg!.id)).toBeNull();
    await page.goto(`${ops.url}/subscribers?q=mueller`);
    expect(await page.locator('main').textContent()).not.toContain('joerg');
    expect((await ops.store.opsLog()).at(-1)).toMatchObject({ event: 'erased', by: 'admin-console', reason: 'Art. 17 request by mail' });
  });
});

async function searchMs(page: Page, q: string): Promise<number> {
  await page.goto(`${page.url().split('/subscribers')[0]}/subscribers?q=${encodeURIComponent(q)}`);
  return Number(/([\d.]+) ms/.exec((await page.locator('#search-stats').textContent())!)?.[1]);
}
