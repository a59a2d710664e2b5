import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CampaignStatus } from '../src/campaign/types.ts';
import type { UnclearRecipient } from '../src/campaign/service.ts';
import { buildAdminApp } from '../src/server/admin/app.ts';
import type { AdminCampaigns } from '../src/server/admin/api.ts';
import { launchBrowser, type TestBrowser } from './support/browser.ts';

const TOKEN = 'console-token-0123456789abcdef';

/**
 * Unclear recipients come from a worker that died between the SMTP answer and the ledger
 * (campaign-ledger.test.ts makes them for real). Here a stand-in for the campaign service
 * reports two, so the page's part can be driven alone, and every call it gets is recorded.
 */
function standIn() {
  const calls: string[] = [];
  const status: CampaignStatus = {
    id: 'c1', slug: '2026-02-22-china-ai2x', list: 'sample', state: 'done', total: 6, previously: 0, remaining: 0,
    sent: 4, failed: 0, bounced: 0, skipped: 0, skippedBy: {}, skippedText: 'skipped 0', unclear: 2,
    plan: { byEdition: { de: 3, en: 3 }, fallback: {}, skipped: {}, total: 6, policy: 'other', summary: 'de 3 · en 3' }, rate: 2, eta: null, createdAt: '2026-11-20T07:00:00.000Z',
    at: '2026-11-20T07:00:00.000Z', startedAt: '2026-11-20T07:00:01.000Z', finishedAt: '2026-11-20T07:00:04.000Z',
    fannedOut: true, parked: 0, version: 1,
  };
  const unclear: UnclearRecipient[] = [
    { id: 's1', email: 'anna.berger@example.org', name: 'Anna Berger', lang: 'de', cause: 'worker died' },
    { id: 's2', email: 'wei.zhang@example.org', name: 'Wei Zhang', lang: 'en', cause: 'connection dropped after DATA' },
  ];
  const record = async <T>(call: string, value: T): Promise<T> => {
    calls.push(call);
    return value;
  };
  const campaigns: AdminCampaigns = {
    create: (input) => record(`create ${input.slug}`, {}),
    list: async () => [status],
    status: async () => status,
    pause: (id) => record(`pause ${id}`, status),
    resume: (id) => record(`resume ${id}`, status),
    cancel: (id) => record(`cancel ${id}`, status),
    update: (id) => record(`update ${id}`, {}),
    unclear: async () => unclear,
    resendUnclear: async (id) => {
      // Slow enough for a second click to land while the first is running.
      await new Promise((resolve) => setTimeout(resolve, 300));
      return record(`resend-unclear ${id}`, { recipients: 2, batches: 1 });
    },
  };
  return { campaigns, calls };
}

describe('console: ops actions on a public admin app', () => {
  let app: FastifyInstance;
  let url: string;
  let browser: TestBrowser;
  const stand = standIn();

  beforeAll(async () => {
    app = await buildAdminApp({ config: { ADMIN_HOST: '0.0.0.0', ADMIN_TOKEN: TOKEN }, campaigns: stand.campaigns });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchBrowser();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
  });

  it('answers 401 to every campaign action and page without the token, and acts on none', async () => {
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const attempts = [
      app.inject({ method: 'POST', url: '/api/campaigns/c1/pause', payload: {} }),
      app.inject({ method: 'POST', url: '/api/campaigns/c1/cancel', payload: {}, headers: { authorization: 'Bearer wrong-token-wrong-token' } }),
      app.inject({ method: 'POST', url: '/api/campaigns/c1/resend-unclear' }),
      app.inject({ method: 'POST', url: '/api/campaigns', payload: { slug: 'x', list: 'sample' } }),
      app.inject({ method: 'POST', url: '/campaigns/new', payload: 'step=send&slug=x&list=sample&when=now', headers: form }),
      app.inject({ url: '/campaigns/c1/events' }),
      app.inject({ url: '/campaigns/c1?part=unclear' }),
      app.inject({ url: '/campaigns/c1', headers: { cookie: 'depesche_admin=forged-session-id-1234' } }),
    ];
    for (const response of await Promise.all(attempts)) expect(response.statusCode).toBe(401);
    expect(stand.calls).toEqual([]);
    // The sign-in page is styled: the stylesheet and page script need no token, and say nothing.
    const css = await app.inject({ url: '/static/depesche.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    expect((await app.inject({ url: '/static/console.js' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/static/..%2f..%2fpackage.json' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/static/nothing.css', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode).toBe(404);
  });

  it('lists the unclear recipients with their causes, and resends to them once after a confirmation', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(String(error)));
    await page.goto(`${url}/campaigns/c1?token=${TOKEN}&lang=en`);
    expect(new URL(page.url()).search).toBe('?lang=en');

    const rows = await page.locator('#unclear tbody tr').allInnerTexts();
    expect(rows.map((r) => r.split('\t'))).toEqual([
      ['anna.berger@example.org', 'Anna Berger', 'DE', 'worker died'],
      ['wei.zhang@example.org', 'Wei Zhang', 'EN', 'connection dropped after DATA'],
    ]);
    const resend = page.locator('button[data-verb=resend-unclear]');
    expect(await resend.textContent()).toBe('Resend to 2 unclear recipients');

    // Backing out of the confirmation sends nothing.
    await resend.click();
    expect(await page.locator('dialog#confirm').textContent()).toContain('Send again to the 2 unclear recipients?');
    await page.locator('dialog#confirm button[value=cancel]').click();
    expect(stand.calls).toEqual([]);

    await resend.click();
    await page.locator('dialog#confirm button[value=ok]').click();
    // Busy while the request runs: a second click does nothing.
    expect(await resend.isDisabled()).toBe(true);
    await resend.click({ force: true }).catch(() => {});
    await expect.poll(() => page.locator('#action-result').textContent()).toContain('2 recipients queued again in 1 batch(es)');
    expect(stand.calls).toEqual(['resend-unclear c1']);
    expect(await resend.isEnabled()).toBe(true);
    expect(errors).toEqual([]);
  }, 60_000);
});
