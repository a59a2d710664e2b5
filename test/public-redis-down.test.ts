import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignRepository } from '../src/campaign/campaigns.ts';
import { form, startPublicSide, type TestPublicSide } from './support/public-side.ts';
import { startRedis, type TestRedis } from './support/redis.ts';
import { startSmtp, type TestSmtp } from './support/smtp.ts';

let redis: TestRedis;
let smtp: TestSmtp;
let side: TestPublicSide;

beforeAll(async () => {
  [redis, smtp] = await Promise.all([startRedis(), startSmtp()]);
  side = await startPublicSide(redis, smtp, { spoolRetryMs: 200 });
});
afterAll(async () => {
  await side?.stop();
  await smtp?.close();
  await redis?.stop();
});

const FORM = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' };

async function waitFor<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('Redis down', () => {
  it('answers every route 503 with Retry-After within 2 s, takes unsubscribes into the spool, and applies each exactly once when Redis is back', async () => {
    const repository = new CampaignRepository(side.admin, side.keys);
    await repository.reserve({ id: 'c-outage', slug: '2026-02-22-china-ai2x', list: 'weekly', mode: 'new', createdAt: Date.now(), at: Date.now(), expected: 3 });
    await repository.freeze('c-outage', '2026-02-22-china-ai2x', 'weekly', []);
    const one = await side.store.upsert({ email: 'one-click@example.org', lang: 'de' }, 'weekly');
    await side.store.addToList(one.id, 'digest');
    const page = await side.store.upsert({ email: 'page@example.org', lang: 'en' }, 'weekly');
    const prefs = await side.store.upsert({ email: 'prefs@example.org', lang: 'de' }, 'weekly');
    const unsubscribe = side.token('unsubscribe', one.id, { cmp: 'c-outage' });
    const pageToken = side.token('unsubscribe', page.id, { cmp: 'c-outage' });
    const prefsToken = side.token('preferences', prefs.id);
    const confirm = side.token('confirm', page.id, { n: 'nonce', exp: Math.floor(Date.now() / 1000) + 3600 });

    await redis.kill();

    const routes: [string, string, string?][] = [
      ['GET', '/'],
      ['GET', '/subscribe?lang=de'],
      ['POST', '/subscribe', form({ email: 'during-outage@example.org', lang: 'de' })],
      ['GET', `/confirm/${confirm}`],
      ['POST', `/confirm/${confirm}`, ''],
      ['GET', `/preferences/${prefsToken}`],
      ['POST', `/preferences/${prefsToken}`, form({ action: 'save', lang: 'en' })],
      ['GET', '/archive'],
      ['GET', '/archive/2026-02-22-china-ai2x/de'],
      ['GET', '/archive/de.atom'],
      ['GET', '/impressum'],
      ['GET', '/healthz'],
    ];
    for (const [method, path, body] of routes) {
      const started = Date.now();
      const response = await fetch(`${side.base}${path}`, { method, headers: FORM, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(5_000) });
      const ms = Date.now() - started;
      expect(response.status, `${method} ${path}`).toBe(503);
      expect(response.headers.get('retry-after'), `${method} ${path}`).toBe('30');
      expect(ms, `${method} ${path} took ${ms} ms`).toBeLessThan(2_000);
      expect(await response.text()).not.toMatch(/ECONNREFUSED|127\.0\.0\.1:\d+|ioredis|stack/i);
    }

    // Unsubscribes are taken: the page still offers its button, and each POST is spooled.
    const shown = await fetch(`${side.base}/unsubscribe/${pageToken}`);
    expect(shown.status).toBe(200);
    expect(await shown.text()).toContain('<input type="hidden" name="List-Unsubscribe" value="One-Click">');
    const posts = [
      fetch(`${side.base}/unsubscribe/${unsubscribe}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'List-Unsubscribe=One-Click' }),
      fetch(`${side.base}/unsubscribe/${pageToken}`, { method: 'POST', headers: FORM, body: form({ 'List-Unsubscribe': 'One-Click', scope: 'all' }) }),
      fetch(`${side.base}/preferences/${prefsToken}`, { method: 'POST', headers: FORM, body: form({ action: 'unsubscribe' }) }),
    ];
    for (const response of await Promise.all(posts)) {
      expect(response.status).toBe(200);
      expect(await response.text()).toMatch(/takes effect within minutes|wird in wenigen Minuten wirksam/);
    }
    // A forged token is still refused, Redis or not.
    expect((await fetch(`${side.base}/unsubscribe/${unsubscribe.slice(0, -2)}AA`, { method: 'POST', headers: FORM, body: 'List-Unsubscribe=One-Click' })).status).toBe(403);
    const spooled = await readFile(join(side.spool.dir, 'unsubscribes.jsonl'), 'utf8');
    expect(spooled.trim().split('\n')).toHaveLength(3);

    await redis.restart();
    await waitFor('the spool to be applied', async () => ((await side.store.get(page.id))?.status === 'unsubscribed' && (await side.store.get(prefs.id))?.status === 'unsubscribed' ? true : undefined));
    // The one-click left the list its mail came from (looked up once Redis was back).
    expect(await side.store.get(one.id)).toMatchObject({ status: 'active', lists: ['digest'], left: { weekly: expect.any(String) } });
    expect(await side.store.get(prefs.id)).toMatchObject({ unsubscribedVia: 'preferences' });
    await waitFor('the spool file to be gone', async () => ((await readdir(side.spool.dir)).length === 0 ? true : undefined));

    // A crash between applying and deleting leaves the file: replaying it changes nothing.
    await writeFile(join(side.spool.dir, 'unsubscribes.draining-crash.jsonl'), spooled);
    await waitFor('the replay', async () => ((await readdir(side.spool.dir)).length === 0 ? true : undefined));
    const count = async (id: string, event: string) => (await side.store.consentLog(id)).filter((e) => e.event === event).length;
    expect(await count(one.id, 'left')).toBe(1);
    expect(await count(page.id, 'unsubscribed')).toBe(1);
    expect(await count(prefs.id, 'unsubscribed')).toBe(1);

    // And the app is whole again.
    expect((await fetch(`${side.base}/healthz`)).status).toBe(200);
    expect((await fetch(`${side.base}/subscribe`, { method: 'POST', headers: FORM, body: form({ email: 'after@example.org', lang: 'de' }) })).status).toBe(200);
  }, 60_000);
});
