import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config/index.ts';
import { keyspace } from '../src/config/redis.ts';
import { loadTranslator, type Translator } from '../src/i18n/index.ts';
import { buildPublicApp } from '../src/server/public/app.ts';
import { RedisSubscriberStore } from '../src/subscribers/redis-store.ts';
import { signToken } from '../src/subscribers/tokens.ts';
import { createSmtpTransport } from '../src/transport/smtp.ts';
import type { Transport } from '../src/transport/types.ts';
import { freePort } from './support/ports.ts';
import { startRedis, type TestRedis } from './support/redis.ts';
import { startSmtp, type TestSmtp } from './support/smtp.ts';

const SECRET = 'test-secret-0123456789abcdef0123456789';
let redisServer: TestRedis;
let smtp: TestSmtp;
let redis: Redis;
let translator: Translator;
let transport: Transport;
let store: RedisSubscriberStore;
let app: FastifyInstance;
let config: Config;
let base: string;
let n = 0;

function configFor(port: number, extra: Record<string, string> = {}): Config {
  return loadConfig({
    env: {
      DEPESCHE_SECRET: SECRET,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      SMTP_URL: smtp.url,
      MAIL_FROM: 'China AI2X Briefing <briefing@example.org>',
      DEFAULT_LIST: 'weekly',
      SUBSCRIBE_RATE_LIMIT: '1000',
      ...extra,
    },
  });
}

async function makeApp(cfg: Config, prefix = `pub${++n}`) {
  const s = new RedisSubscriberStore(redis, keyspace(prefix));
  return { store: s, app: await buildPublicApp({ config: cfg, store: s, translator, transport }) };
}

beforeAll(async () => {
  [redisServer, smtp] = await Promise.all([startRedis(), startSmtp()]);
  redis = new Redis(redisServer.url);
  translator = await loadTranslator('locales');
  transport = createSmtpTransport({ SMTP_URL: smtp.url, SMTP_POOL_SIZE: 1 });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  config = configFor(port);
  ({ store, app } = await makeApp(config));
  await app.listen({ port, host: '127.0.0.1' });
});
afterAll(async () => {
  await app?.close();
  await transport?.close();
  redis?.disconnect();
  await smtp?.close();
  await redisServer?.stop();
});

const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const mailsTo = (address: string) => smtp.mails.filter((m) => m.to.includes(address.toLowerCase()));
async function waitForMail(address: string, count = 1) {
  const deadline = Date.now() + 10_000;
  while (mailsTo(address).length < count) {
    if (Date.now() > deadline) throw new Error(`no mail to ${address}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return mailsTo(address)[count - 1]!;
}
const token = (act: 'confirm' | 'unsubscribe' | 'preferences', sub: string, extra: { exp?: number } = {}, secret = SECRET) => signToken({ act, sub, ...extra }, secret);

describe('double opt-in', () => {
  it('subscribes, mails a localized confirmation without advertising, and logs consent when the link is followed', async () => {
    const response = await fetch(`${base}/subscribe`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': 'en' },
      body: form({ email: 'Anna.Meier@Example.org', name: 'Anna <b>Meier</b>', lang: 'de' }),
    });
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).toContain('<html lang="de">');
    expect(page).toContain('Bitte bestätigen Sie Ihre Adresse');
    expect(response.headers.get('set-cookie')).toBeNull();

    const pending = await store.findByEmail('anna.meier@example.org');
    expect(pending).toMatchObject({ status: 'pending', lang: 'de', name: 'Anna <b>Meier</b>', lists: ['weekly'], consent: { source: 'form', signupIp: '127.0.0.1' } });

    const mail = await waitForMail('anna.meier@example.org');
    expect(mail.parsed.subject).toBe('Bitte bestätigen Sie Ihr Newsletter-Abonnement');
    expect(mail.parsed.headers.get('content-language')).toBe('de');
    expect(mail.parsed.headers.get('auto-submitted')).toBe('auto-generated');
    const html = String(mail.parsed.html);
    expect(html).toContain('Hallo Anna &lt;b&gt;Meier&lt;/b&gt;,');
    expect(html).not.toContain('<b>Meier');
    // One purpose: every link in the mail is the confirmation link.
    const links = [...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1]);
    const link = /http:\/\/\S+\/confirm\/\S+/.exec(mail.parsed.text ?? '')![0];
    expect(links).toEqual([link]);
    expect(mail.parsed.text).not.toMatch(/https?:\/\/(?!127\.0\.0\.1:\d+\/confirm\/)/);
    expect(await store.get(pending!.id)).toMatchObject({ consent: { confirmationSentAt: expect.stringMatching(/^\d{4}-/) } });

    const confirmed = await fetch(link);
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain('Abonnement bestätigt');
    const active = await store.get(pending!.id);
    expect(active).toMatchObject({ status: 'active', consent: { confirmedIp: '127.0.0.1', signupIp: '127.0.0.1', source: 'form' } });
    expect(Date.parse(active!.consent.confirmedAt!)).toBeGreaterThanOrEqual(Date.parse(active!.consent.signupAt!));
    expect((await store.consentLog(pending!.id)).map((e) => [e.event, e.ip])).toEqual([
      ['signup', '127.0.0.1'],
      ['confirmation-sent', undefined],
      ['confirmed', '127.0.0.1'],
    ]);
    expect(await store.countActiveByLang('weekly')).toEqual({ de: 1, en: 0 });

    // Following the link again is harmless.
    expect((await fetch(link)).status).toBe(200);
  });

  it('says so when the confirmation mail cannot be sent, and lets the form be sent again', async () => {
    smtp.setFault(({ rcpt }) => (rcpt === 'refused@example.org' ? { code: 550, message: 'mailbox unavailable' } : undefined));
    try {
      const failed = await app.inject({ method: 'POST', url: '/subscribe', payload: form({ email: 'refused@example.org', lang: 'en' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(failed.statusCode).toBe(503);
      expect(failed.body).toContain('We could not send the confirmation email just now.');
      const s = await store.findByEmail('refused@example.org');
      expect(s).toMatchObject({ status: 'pending' });
      expect(s!.consent.confirmationSentAt).toBeUndefined();
    } finally {
      smtp.setFault(undefined);
    }
    const retried = await app.inject({ method: 'POST', url: '/subscribe', payload: { email: 'refused@example.org', lang: 'en' } });
    expect(retried.statusCode).toBe(202);
    await waitForMail('refused@example.org');
  });

  it('answers the same for a known active address, and changes nothing about it', async () => {
    const { id } = await store.upsert({ email: 'known@example.org', name: 'Known', lang: 'en' }, 'weekly');
    const before = smtp.mails.length;
    const response = await app.inject({ method: 'POST', url: '/subscribe', payload: { email: 'KNOWN@example.org', name: 'Mallory', lang: 'de' } });
    expect(response.statusCode).toBe(202);
    expect(response.json()).toMatchObject({ ok: true, status: 'pending' });
    expect(await store.get(id)).toMatchObject({ name: 'Known', lang: 'en', status: 'active' });
    await new Promise((r) => setTimeout(r, 100));
    expect(smtp.mails.length).toBe(before);
  });

  it('lets someone who unsubscribed sign up again, pending until they confirm; an old confirm link cannot undo an unsubscribe', async () => {
    const { id } = await store.upsert({ email: 'back@example.org', lang: 'de', status: 'pending', source: 'form' }, 'weekly');
    const oldLink = `/confirm/${token('confirm', id, { exp: Math.floor(Date.now() / 1000) + 3600 })}`;
    await store.unsubscribe(id, 'one-click');
    const stale = await app.inject({ method: 'GET', url: oldLink });
    expect(stale.statusCode).toBe(410);
    expect((await store.get(id))!.status).toBe('unsubscribed');

    const again = await app.inject({ method: 'POST', url: '/subscribe', payload: form({ email: 'back@example.org', lang: 'en' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(again.statusCode).toBe(200);
    expect(again.body).toContain('Please confirm your address');
    expect(await store.get(id)).toMatchObject({ status: 'pending', lang: 'en' });
    const mail = await waitForMail('back@example.org');
    expect(mail.parsed.subject).toBe('Please confirm your newsletter subscription');

    // Submitting the pending address again within minutes sends no second mail.
    const repeat = await app.inject({ method: 'POST', url: '/subscribe', payload: { email: 'back@example.org', lang: 'de' } });
    expect(repeat.statusCode).toBe(202);
    await new Promise((r) => setTimeout(r, 150));
    expect(mailsTo('back@example.org')).toHaveLength(1);
    expect((await store.get(id))!.lang).toBe('en');
  });
});

describe('one-click unsubscribe (RFC 8058)', () => {
  it('unsubscribes at once on the POST exactly as Gmail sends it, answering 200 without cookies or redirects', async () => {
    const { id } = await store.upsert({ email: 'gmail@example.org', lang: 'en' }, 'weekly');
    const response = await fetch(`${base}/unsubscribe/${token('unsubscribe', id)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
      redirect: 'manual',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    const page = await response.text();
    expect(page).toContain('You are unsubscribed');
    expect(page).not.toContain('<script');
    // The sender reads status per batch with getMany: the very next read sees it.
    const [s] = await store.getMany([id]);
    expect(s).toMatchObject({ status: 'unsubscribed', unsubscribedVia: 'one-click' });

    // Again: idempotent, still 200.
    const twice = await app.inject({ method: 'POST', url: `/unsubscribe/${token('unsubscribe', id)}`, payload: 'List-Unsubscribe=One-Click', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(twice.statusCode).toBe(200);
  });

  it('accepts the multipart/form-data encoding RFC 8058 also allows', async () => {
    const { id } = await store.upsert({ email: 'multipart@example.org', lang: 'de' }, 'weekly');
    const body = new FormData();
    body.set('List-Unsubscribe', 'One-Click');
    const response = await fetch(`${base}/unsubscribe/${token('unsubscribe', id)}`, { method: 'POST', body });
    expect(response.status).toBe(200);
    expect((await store.get(id))!.status).toBe('unsubscribed');
  });

  it('shows a localized page with a button that posts the one-click body, and needs that body', async () => {
    const { id } = await store.upsert({ email: 'page@example.org', lang: 'de' }, 'weekly');
    const t = token('unsubscribe', id);
    const page = await app.inject({ method: 'GET', url: `/unsubscribe/${t}`, headers: { 'accept-language': 'en' } });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<html lang="de">');
    expect(page.body).toContain('Möchten Sie page@example.org vom Newsletter abmelden?');
    expect(page.body).toContain(`<form method="post" action="/unsubscribe/${t}">`);
    expect(page.body).toContain('<input type="hidden" name="List-Unsubscribe" value="One-Click">');
    expect(page.body).not.toContain('<script');
    expect((await store.get(id))!.status).toBe('active');

    const empty = await app.inject({ method: 'POST', url: `/unsubscribe/${t}`, payload: form({ other: 'x' }), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' } });
    expect(empty.statusCode).toBe(400);
    expect(empty.json()).toMatchObject({ error: { code: 'E_INPUT', field: 'List-Unsubscribe' } });
    expect((await store.get(id))!.status).toBe('active');

    const clicked = await app.inject({ method: 'POST', url: `/unsubscribe/${t}`, payload: form({ 'List-Unsubscribe': 'One-Click' }), headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' } });
    expect(clicked.statusCode).toBe(200);
    expect(clicked.body).toContain('Sie sind abgemeldet');
    expect(await store.get(id)).toMatchObject({ status: 'unsubscribed', unsubscribedVia: 'page' });
  });
});

describe('tokens', () => {
  it('refuses forged, altered, misdirected and expired tokens with a 4xx, changing nothing', async () => {
    const { id } = await store.upsert({ email: 'victim@example.org', lang: 'de', status: 'pending' }, 'weekly');
    const other = await store.upsert({ email: 'other@example.org', lang: 'de' }, 'weekly');
    const genuine = token('unsubscribe', id);
    const [payload, mac] = genuine.split('.') as [string, string];
    const otherPayload = token('unsubscribe', other.id).split('.')[0]!;
    const cases: [string, string][] = [
      ['POST', `/unsubscribe/${token('unsubscribe', id, {}, 'another-secret-0123456789abcdef012345')}`],
      ['POST', `/unsubscribe/${otherPayload}.${mac}`],
      ['POST', `/unsubscribe/${payload}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`],
      ['POST', `/unsubscribe/${payload}`],
      ['POST', '/unsubscribe/not-a-token'],
      ['POST', `/unsubscribe/${token('preferences', id)}`],
      ['GET', `/confirm/${token('confirm', id, { exp: Math.floor(Date.now() / 1000) - 1 })}`],
      ['GET', `/confirm/${token('unsubscribe', id)}`],
      ['POST', `/preferences/${token('unsubscribe', id)}`],
    ];
    for (const [method, url] of cases) {
      const response = await app.inject({ method: method as 'GET' | 'POST', url, payload: method === 'POST' ? form({ 'List-Unsubscribe': 'One-Click', action: 'unsubscribe' }) : undefined, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(response.statusCode, `${method} ${url}`).toBe(403);
      expect(response.body).toContain('<html lang=');
    }
    expect((await store.get(id))!.status).toBe('pending');
    expect((await store.get(other.id))!.status).toBe('active');
    expect(await store.consentLog(id)).toEqual([]);

    // A genuine token for a subscriber that does not exist: 404, nothing created.
    const ghost = await app.inject({ method: 'GET', url: `/unsubscribe/${token('unsubscribe', '999999')}` });
    expect(ghost.statusCode).toBe(404);
    expect(await store.get('999999')).toBeNull();
  });
});

describe('input', () => {
  const post = (payload: Record<string, string>, accept = 'application/json') =>
    app.inject({ method: 'POST', url: '/subscribe', payload: form(payload), headers: { 'content-type': 'application/x-www-form-urlencoded', accept, 'x-forwarded-for': '203.0.113.9' } });

  it('answers bad input with a 400 that names the field, creating nothing', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ email: 'nope', lang: 'de' }, 'email'],
      [{ lang: 'de' }, 'email'],
      [{ email: 'crlf@example.org', name: 'Eve\r\nBcc: all@example.org', lang: 'de' }, 'name'],
      [{ email: 'ctrl@example.org', name: 'Eve\u0000', lang: 'de' }, 'name'],
      [{ email: 'long@example.org', name: 'x'.repeat(201), lang: 'de' }, 'name'],
      [{ email: 'fr@example.org', lang: 'fr' }, 'lang'],
      [{ email: 'list@example.org', lang: 'de', list: 'no such list' }, 'list'],
      [{ email: 'list2@example.org', lang: 'de', list: 'unknown' }, 'list'],
    ];
    for (const [payload, field] of cases) {
      const response = await post(payload);
      expect(response.statusCode, JSON.stringify(payload)).toBe(400);
      expect(response.json().error).toMatchObject({ code: 'E_INPUT', field });
      expect(response.json().error.message).toContain(field);
      if (payload.email) expect(await store.findByEmail(payload.email)).toBeNull();
    }
    const page = await post({ email: 'crlf@example.org', name: 'a\nb', lang: 'en' }, 'text/html');
    expect(page.statusCode).toBe(400);
    expect(page.body).toContain('Please check your input: the name');
  });

  it('escapes HTML everywhere it shows a value', async () => {
    const page = await app.inject({ method: 'GET', url: '/subscribe?lang=en&list=%22%3E%3Cscript%3E' });
    expect(page.statusCode).toBe(200);
    expect(page.body).not.toContain('<script>');
    expect(page.body).toContain('name="list" value="weekly"');
    const evil = await store.upsert({ email: 'o\'neil&co@example.org', name: '<img src=x onerror=alert(1)>', lang: 'en' }, 'weekly');
    const prefs = await app.inject({ method: 'GET', url: `/preferences/${token('preferences', evil.id)}` });
    expect(prefs.body).toContain('o&#39;neil&amp;co@example.org');
    expect(prefs.body).not.toContain("o'neil&co");
  });
});

describe('preferences', () => {
  it('switches the language, answers in the new one, and can leave', async () => {
    const { id } = await store.upsert({ email: 'prefs@example.org', lang: 'de' }, 'weekly');
    const t = token('preferences', id);
    const before = await store.countActiveByLang('weekly');
    const page = await app.inject({ method: 'GET', url: `/preferences/${t}` });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Einstellungen für prefs@example.org');
    expect(page.body).toContain('value="de" checked');

    const switched = await app.inject({ method: 'POST', url: `/preferences/${t}`, payload: form({ action: 'save', lang: 'en' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(switched.statusCode).toBe(200);
    expect(switched.body).toContain('<html lang="en">');
    expect(switched.body).toContain('The next issues will arrive in English.');
    expect((await store.get(id))!.lang).toBe('en');
    expect(await store.countActiveByLang('weekly')).toEqual({ de: before.de - 1, en: before.en + 1 });

    const bad = await app.inject({ method: 'POST', url: `/preferences/${t}`, payload: form({ action: 'save', lang: 'xx' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(bad.statusCode).toBe(400);
    expect((await store.get(id))!.lang).toBe('en');

    const left = await app.inject({ method: 'POST', url: `/preferences/${t}`, payload: form({ action: 'unsubscribe' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(left.statusCode).toBe(200);
    expect(await store.get(id)).toMatchObject({ status: 'unsubscribed', unsubscribedVia: 'preferences' });
  });
});

describe('rate limit', () => {
  it('limits sign-ups per IP, in Redis', async () => {
    const port = await freePort();
    const { app: limited } = await makeApp(configFor(port, { SUBSCRIBE_RATE_LIMIT: '2' }));
    const post = (i: number, ip: string) =>
      limited.inject({ method: 'POST', url: '/subscribe', payload: { email: `rl${i}@example.org`, lang: 'de' }, remoteAddress: ip });
    expect((await post(1, '198.51.100.1')).statusCode).toBe(202);
    expect((await post(2, '198.51.100.1')).statusCode).toBe(202);
    const third = await post(3, '198.51.100.1');
    expect(third.statusCode).toBe(429);
    expect(third.json().error.code).toBe('E_RATE_LIMIT');
    expect((await post(4, '198.51.100.2')).statusCode).toBe(202);
    await limited.close();
  });
});
