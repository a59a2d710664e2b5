import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyspace } from '../src/config/redis.ts';
import { buildAdminApp } from '../src/server/admin/app.ts';
import { safeNext } from '../src/server/admin/auth.ts';
import { RedisAdminSessions } from '../src/server/admin/sessions.ts';
import { RedisSubscriberStore } from '../src/subscribers/redis-store.ts';
import { startRedis, type TestRedis } from './support/redis.ts';

const TOKEN = 'admin-token-0123456789-abcdef';
const PREFIX = 'sessions';
let redis: TestRedis;
let connection: Redis;

beforeAll(async () => {
  redis = await startRedis();
  connection = new Redis(redis.url);
});
afterAll(async () => {
  connection?.disconnect();
  await redis?.stop();
});

const app = (token = TOKEN) =>
  buildAdminApp({ config: { ADMIN_HOST: '0.0.0.0', ADMIN_TOKEN: token }, sessions: new RedisAdminSessions(connection, keyspace(PREFIX), token) });
const login = (admin: Awaited<ReturnType<typeof app>>, next: string, token = TOKEN) =>
  admin.inject({ method: 'POST', url: '/login', payload: new URLSearchParams({ token, next }).toString(), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
const cookieOf = (response: { headers: Record<string, unknown> }) => String(response.headers['set-cookie']).split(';')[0]!;

describe('admin sign-in', () => {
  it('redirects after sign-in only to paths on this app (no open redirect)', async () => {
    const admin = await app();
    try {
      for (const next of ['/\\evil.example/phish', '/\\/evil.example', '/\t/evil.example', '//evil.example', 'https://evil.example/', '/\n/evil.example', 'javascript:alert(1)', '/%0a/evil']) {
        const response = await login(admin, next);
        expect(response.statusCode, JSON.stringify(next)).toBe(303);
        const location = String(response.headers.location);
        expect(new URL(location, 'https://admin.example').origin, JSON.stringify(next)).toBe('https://admin.example');
        expect(location.startsWith('//'), JSON.stringify(next)).toBe(false);
      }
      expect(String((await login(admin, '/\\evil.example/phish')).headers.location)).toBe('/');
      expect(String((await login(admin, '/campaigns?x=1#top')).headers.location)).toBe('/campaigns?x=1#top');
      // The login page carries the same clean value.
      expect((await admin.inject({ url: `/login?next=${encodeURIComponent('/\\evil.example/phish')}` })).body).toContain('name="next" value="/"');
    } finally {
      await admin.close();
    }
    expect(safeNext('/inbox?token=secret&x=1')).toBe('/inbox?x=1');
  });

  it('keeps a random session id in the cookie, never the token, shared through Redis and ended by logout-all or a new ADMIN_TOKEN', async () => {
    const first = await app();
    const second = await app();
    try {
      const signedIn = await login(first, '/campaigns');
      const cookie = cookieOf(signedIn);
      expect(cookie).toMatch(/^depesche_admin=[\w-]{43}$/);
      expect(String(signedIn.headers['set-cookie'])).not.toContain(TOKEN);
      expect(cookie).not.toContain(encodeURIComponent(TOKEN));
      // Only a hash of the id is in Redis, and nothing of the token.
      const stored = await connection.keys(`{${PREFIX}}:admin:session:*`);
      expect(stored.length).toBeGreaterThan(0);
      for (const key of stored) {
        expect(key).not.toContain(cookie.split('=')[1]);
        expect(await connection.get(key)).not.toContain(TOKEN);
        expect(await connection.ttl(key)).toBeGreaterThan(11 * 3600);
      }
      // Another app process knows the session.
      expect((await second.inject({ url: '/campaigns', headers: { cookie } })).statusCode).toBe(200);
      // The raw token as a cookie (what the app used to set) opens nothing.
      expect((await first.inject({ url: '/campaigns', headers: { cookie: `depesche_admin=${TOKEN}` } })).statusCode).toBe(401);

      const run = promisify(execFile);
      const { stdout } = await run(process.execPath, ['bin/depesche.js', 'admin', 'logout-all'], { env: { ...process.env, REDIS_URL: redis.url, DEPESCHE_PREFIX: PREFIX } });
      expect(stdout).toContain('Every admin session has ended');
      for (const admin of [first, second]) expect((await admin.inject({ url: '/campaigns', headers: { cookie } })).statusCode).toBe(401);
      // Scripts with the token are not affected.
      expect((await first.inject({ url: '/campaigns', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode).toBe(200);

      // Rotating ADMIN_TOKEN ends every session opened with the old one.
      const fresh = cookieOf(await login(first, '/'));
      expect((await first.inject({ url: '/campaigns', headers: { cookie: fresh } })).statusCode).toBe(200);
      const rotated = await app('rotated-token-0123456789-xyz');
      try {
        expect((await rotated.inject({ url: '/campaigns', headers: { cookie: fresh } })).statusCode).toBe(401);
      } finally {
        await rotated.close();
      }
      // Signing out ends one session.
      const out = await first.inject({ method: 'POST', url: '/logout', headers: { cookie: fresh } });
      expect(out.statusCode).toBe(303);
      expect((await first.inject({ url: '/campaigns', headers: { cookie: fresh } })).statusCode).toBe(401);
    } finally {
      await first.close();
      await second.close();
    }
  }, 30_000);
});

describe('the subscriber part of the ops API', () => {
  it('shows a subscriber and their consent history, and makes ops changes only with a reason, logged with who', async () => {
    const store = new RedisSubscriberStore(connection, keyspace('opsapi'));
    const { id } = await store.upsert({ email: 'Reader@Example.org', name: 'Reader', lang: 'de' }, 'weekly');
    await store.bounce(id, { reason: '550 5.1.1 no such user', source: 'smtp' });
    const admin = await buildAdminApp({ config: { ADMIN_HOST: '127.0.0.1', ADMIN_TOKEN: undefined }, subscribers: store });
    const json = (method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, payload?: unknown) =>
      admin.inject({ method, url, ...(payload === undefined ? {} : { payload: payload as object }), headers: { host: '127.0.0.1' } });
    try {
      expect((await json('GET', '/api/subscribers/reader@example.org')).json()).toMatchObject({ id, status: 'bounced', name: 'Reader', lang: 'de', lists: ['weekly'] });
      expect((await json('GET', '/api/subscribers/nobody@example.org')).statusCode).toBe(404);
      // No reason, no change.
      expect((await json('POST', '/api/subscribers/reader@example.org/reactivate', {})).statusCode).toBe(400);
      expect((await json('POST', '/api/subscribers/reader@example.org/reactivate', { reason: 'mailbox fixed', by: 'anna' })).json()).toMatchObject({ status: 'active' });
      expect((await json('POST', '/api/subscribers/reader@example.org/lang', { lang: 'en', reason: 'asked by phone' })).json()).toMatchObject({ lang: 'en' });
      expect((await json('PUT', '/api/lists/weekly/visibility', { visibility: 'public', reason: 'on the sign-up page' })).json()).toEqual({ list: 'weekly', visibility: 'public' });
      const history = (await json('GET', '/api/subscribers/reader@example.org/consent')).json() as { history: { event: string; by?: string; reason?: string }[] };
      expect(history.history.map((e) => [e.event, e.by, e.reason])).toEqual([
        ['bounced', undefined, '550 5.1.1 no such user'],
        ['reactivated', 'admin-api:anna', 'mailbox fixed'],
        ['lang-changed', 'admin-api', 'asked by phone'],
      ]);
      // An unsubscribe is the reader's: ops cannot undo it.
      await store.unsubscribe(id, 'one-click');
      expect((await json('POST', '/api/subscribers/reader@example.org/reactivate', { reason: 'please' })).statusCode).toBe(409);
      expect((await json('DELETE', '/api/subscribers/reader@example.org', { reason: 'Art. 17 request' })).json()).toEqual({ erased: id });
      expect(await store.get(id)).toBeNull();
      expect((await store.opsLog()).map((e) => [e.event, e.by])).toEqual([['list-visibility', 'admin-api'], ['erased', 'admin-api']]);
    } finally {
      await admin.close();
    }
  });
});
