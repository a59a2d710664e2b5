import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignRepository } from '../src/campaign/campaigns.ts';
import { loadConfig } from '../src/config/index.ts';
import { loadTranslator, type Translator } from '../src/i18n/index.ts';
import { subscriberReport } from '../src/subscribers/report.ts';
import { confirmLink, form, mailsFor, SECRET, startPublicSide, type TestPublicSide } from './support/public-side.ts';
import { startRedis, type TestRedis } from './support/redis.ts';
import { startSmtp, type TestSmtp } from './support/smtp.ts';

let redis: TestRedis;
let smtp: TestSmtp;
let side: TestPublicSide;
let t: Translator;

beforeAll(async () => {
  [redis, smtp, t] = await Promise.all([startRedis(), startSmtp(), loadTranslator('locales')]);
  side = await startPublicSide(redis, smtp, { env: { FORM_ORIGINS: 'https://www.example.org' } });
  await side.store.setVisibility('digest', 'public', { by: 'test', reason: 'a second public list' });
});
afterAll(async () => {
  await side?.stop();
  await smtp?.close();
  await redis?.stop();
});

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };
const subscribe = (fields: Record<string, string | string[]>, headers: Record<string, string> = {}) =>
  fetch(`${side.base}/subscribe`, { method: 'POST', headers: { ...FORM, accept: 'text/html', ...headers }, body: form(fields) });
const post = (path: string, fields: Record<string, string | string[]> = {}, headers: Record<string, string> = {}) =>
  fetch(`${side.base}${path}`, { method: 'POST', headers: { ...FORM, accept: 'text/html', ...headers }, body: form(fields), redirect: 'manual' });
const path = (url: string) => new URL(url).pathname;
/** Lets the resend window pass for one address, as ten minutes would. */
const tenMinutesLater = (id: string) => side.admin.hdel(side.keys.key('sub', id), 'mailAt');
const events = async (id: string) => (await side.store.consentLog(id)).map((e) => e.event);

describe('double opt-in', () => {
  it('keeps a new address pending on no list; GET and HEAD only show the request; the button confirms and writes the consent record', async () => {
    const response = await subscribe({ email: 'Anna.Meier@Example.org', name: 'Anna <b>Meier</b>', lang: 'de' }, { 'accept-language': 'en', referer: `${side.base}/?lang=de` });
    expect(response.status).toBe(200);
    const page = await response.text();
    expect(page).toContain('<html lang="de">');
    expect(page).toContain('Bitte sehen Sie in Ihr Postfach');
    expect(response.headers.get('set-cookie')).toBeNull();

    const pending = await side.store.findByEmail('anna.meier@example.org');
    expect(pending).toMatchObject({ status: 'pending', lang: 'de', name: 'Anna <b>Meier</b>', lists: [], request: { lists: ['weekly'], source: 'form' } });
    expect(pending!.id).toMatch(/^[a-z2-7]{12}$/);

    const [mail] = await mailsFor(smtp, 'anna.meier@example.org');
    expect(mail!.parsed.subject).toBe('Bitte bestätigen: Newsletter von China AI2X Briefing');
    expect(mail!.parsed.headers.get('auto-submitted')).toBe('auto-generated');
    const html = String(mail!.parsed.html);
    // What a stranger typed never reaches the inbox: no name, no greeting with it.
    expect(html).not.toContain('Anna');
    expect(mail!.parsed.text).toContain('- die Liste „weekly“ abonnieren');
    expect(mail!.parsed.text).toContain('- Ausgaben auf Deutsch erhalten');
    const link = confirmLink(mail!);
    expect([...html.matchAll(/href="([^"]+)"/g)].map((m) => m[1])).toEqual([link]);

    // A mail scanner opens the link, maybe twice, maybe with HEAD: nothing happens.
    for (const method of ['GET', 'HEAD', 'GET']) expect((await fetch(link, { method })).status).toBe(200);
    const shown = await (await fetch(link)).text();
    expect(shown).toContain(`<form method="post" action="${path(link)}">`);
    expect(shown).toContain('die Liste „weekly“ abonnieren');
    expect((await side.store.get(pending!.id))!.status).toBe('pending');
    expect(await events(pending!.id)).toEqual(['requested', 'confirmation-sent']);

    const confirmed = await post(path(link));
    expect(confirmed.status).toBe(200);
    expect(await confirmed.text()).toContain('Danke! Anna.Meier@example.org erhält den Newsletter');
    const active = await side.store.get(pending!.id);
    const wordingText = t.t('de', 'public.consent.text');
    expect(active).toMatchObject({
      status: 'active',
      lists: ['weekly'],
      consent: {
        source: 'form',
        signupIp: '127.0.0.1',
        confirmedIp: '127.0.0.1',
        formUrl: `${side.base}/?lang=de`,
        wording: { version: t.t('de', 'public.consent.version'), hash: `sha256:${createHash('sha256').update(wordingText).digest('hex')}` },
        confirmationMessageId: mail!.parsed.messageId,
      },
    });
    // The record for an Art. 15 request: the consent with the exact words shown.
    const report = await subscriberReport(side.store, active!, { history: true });
    const record = report.history!.find((e) => e.event === 'confirmed')!;
    expect(record).toMatchObject({ ip: '127.0.0.1', messageId: mail!.parsed.messageId, lists: ['weekly'], request: { ip: '127.0.0.1', formUrl: `${side.base}/?lang=de` }, wording: { text: wordingText } });

    // Used once, the link is dead.
    expect((await post(path(link))).status).toBe(410);
    expect((await fetch(link)).status).toBe(410);
  });

  it('an active reader is joined to nothing and changed in nothing until they confirm; the mail says what was asked', async () => {
    const { id } = await side.store.upsert({ email: 'alice@example.org', name: 'Alice', lang: 'de' }, 'weekly');
    const before = await side.store.get(id);
    const response = await subscribe({ email: 'ALICE@EXAMPLE.ORG', list: 'digest', lang: 'en', name: 'Mallory' });
    expect(response.status).toBe(200);
    expect(await side.store.get(id)).toMatchObject({ name: 'Alice', lang: 'de', status: 'active', lists: ['weekly'], updatedAt: before!.updatedAt });
    // The mail goes to Alice, in her language, and says what was asked.
    const [mail] = await mailsFor(smtp, 'alice@example.org');
    expect(mail!.parsed.text).toContain('die Liste „digest“ abonnieren');
    expect(mail!.parsed.text).toContain('Ausgaben auf English erhalten');
    expect(mail!.parsed.text).not.toContain('Mallory');
    // Only her click applies it.
    expect((await post(path(confirmLink(mail!)))).status).toBe(200);
    expect(await side.store.get(id)).toMatchObject({ name: 'Alice', lang: 'en', status: 'active', lists: ['digest', 'weekly'] });
  });

  it('gives bounced, unsubscribed and complained readers the same answer, changes none of them, and never mails a complaint', async () => {
    const ids: Record<string, string> = {};
    for (const who of ['bounced', 'unsubscribed', 'complained']) ids[who] = (await side.store.upsert({ email: `${who}@example.org`, name: who, lang: 'de' }, 'weekly')).id;
    await side.store.bounce(ids.bounced!, { reason: '550 5.1.1', source: 'smtp' });
    await side.store.unsubscribe(ids.unsubscribed!, 'one-click');
    await side.store.complain(ids.complained!, { reason: 'ARF', source: 'inbound' });
    const fresh = await (await subscribe({ email: 'fresh-control@example.org', lang: 'en' })).text();
    for (const who of ['bounced', 'unsubscribed', 'complained']) {
      const response = await subscribe({ email: `${who}@example.org`, name: 'Hallo Visit evil.example now', lang: 'en' });
      expect(response.status).toBe(200);
      expect((await response.text()).replace(`${who}@example.org`, 'X')).toBe(fresh.replace('fresh-control@example.org', 'X'));
      expect(await side.store.get(ids[who]!)).toMatchObject({ status: who, name: who, lang: 'de', lists: ['weekly'] });
    }
    await mailsFor(smtp, 'fresh-control@example.org');
    const bounced = await mailsFor(smtp, 'bounced@example.org');
    const unsubscribed = await mailsFor(smtp, 'unsubscribed@example.org');
    await new Promise((r) => setTimeout(r, 200));
    expect(smtp.mails.filter((m) => m.to.includes('complained@example.org'))).toHaveLength(0);
    for (const mail of [...bounced, ...unsubscribed]) expect(mail.parsed.text).not.toContain('evil.example');
    // The reader who left may come back, by their own click.
    expect((await post(path(confirmLink(unsubscribed[0]!)))).status).toBe(200);
    expect(await side.store.get(ids.unsubscribed!)).toMatchObject({ status: 'active', lang: 'en' });
  });

  it('never lets an old confirmation link bring back someone who left, whatever a stranger posts meanwhile', async () => {
    await subscribe({ email: 'leaver@example.org', lang: 'de' });
    const [first] = await mailsFor(smtp, 'leaver@example.org');
    const oldLink = path(confirmLink(first!));
    expect((await post(oldLink)).status).toBe(200);
    const { id } = (await side.store.findByEmail('leaver@example.org'))!;
    expect((await post(`/unsubscribe/${side.token('unsubscribe', id)}`, { 'List-Unsubscribe': 'One-Click' }, { accept: '*/*' })).status).toBe(200);
    expect((await post(oldLink)).status).toBe(410);

    // A stranger posts the form for her, ten minutes later: a new request, mailed to her.
    await tenMinutesLater(id);
    expect((await subscribe({ email: 'leaver@example.org', lang: 'en' }, { 'x-forwarded-for': '203.0.113.66' })).status).toBe(200);
    const mails = await mailsFor(smtp, 'leaver@example.org', 2);
    // Neither her old link nor one shaped like those mailed before nonces brings her back.
    const legacyShape = side.token('confirm', id, { exp: Math.floor(Date.now() / 1000) + 3600 });
    for (const stale of [oldLink, `/confirm/${legacyShape}`]) {
      expect((await post(stale)).status, stale).toBe(410);
      expect((await side.store.get(id))!.status).toBe('unsubscribed');
    }
    // Only the new link does, and only if she presses its button.
    expect((await post(path(confirmLink(mails[1]!)))).status).toBe(200);
    expect((await side.store.get(id))!.status).toBe('active');
  });

  it('answers the same when the confirmation mail cannot be sent, shows no SMTP detail, and lets the form be sent again', async () => {
    await side.store.upsert({ email: 'known-smtp@example.org', lang: 'en' }, 'weekly');
    smtp.setFault(({ rcpt }) => (rcpt.endsWith('-smtp@example.org') ? { code: 451, message: 'try later' } : undefined));
    try {
      const answers = [];
      for (const email of ['known-smtp@example.org', 'new-smtp@example.org']) {
        const response = await subscribe({ email, lang: 'en' });
        answers.push([response.status, (await response.text()).replace(email, 'X')]);
      }
      expect(answers[0]).toEqual(answers[1]);
      expect(answers[0]![0]).toBe(200);
      expect(answers[0]![1]).not.toContain(String(smtp.port));
      await side.subscriptions.idle();
      const failed = await side.store.findByEmail('new-smtp@example.org');
      expect(await events(failed!.id)).toEqual(['requested', 'confirmation-failed']);
    } finally {
      smtp.setFault(undefined);
    }
    // Nothing went out, so the next post mails at once.
    expect((await subscribe({ email: 'new-smtp@example.org', lang: 'en' })).status).toBe(200);
    await mailsFor(smtp, 'new-smtp@example.org');
  });

  it('keeps working for links in mails sent before ids were random (sequential ids, old token shapes)', async () => {
    // An installation as the previous version left it: decimal ids, per-list counts.
    const k = (...parts: string[]) => side.keys.key(...parts);
    const now = String(Date.now());
    await side.admin.hset(k('sub', '5'), { email: 'old5@example.org', lang: 'de', status: 'active', created: now, 'l:legacy': '1', src: 'import:old.csv' });
    await side.admin.hset(k('sub', '7'), { email: 'old7@example.org', lang: 'en', status: 'pending', created: now, 'l:legacy': '2', src: 'form', signupAt: now, signupIp: '192.0.2.7' });
    await side.admin.hset(k('email'), { 'old5@example.org': '5', 'old7@example.org': '7' });
    await side.admin.zadd(k('list', 'legacy', 'members'), 1, '5', 2, '7');
    await side.admin.sadd(k('lists'), 'legacy');
    // (this prefix already moved its counts; the store test covers that move)
    await side.admin.hset(k('list-counts'), 'legacy:active:de', 1, 'legacy:pending:en', 1);

    const prefs = await fetch(`${side.base}/preferences/${side.token('preferences', '5')}`);
    expect(prefs.status).toBe(200);
    expect(await prefs.text()).toContain('old5@example.org');
    const confirm = `/confirm/${side.token('confirm', '7', { exp: Math.floor(Date.now() / 1000) + 86_400 })}`;
    expect((await fetch(`${side.base}${confirm}`)).status).toBe(200);
    expect((await post(confirm)).status).toBe(200);
    expect(await side.store.get('7')).toMatchObject({ status: 'active', lists: ['legacy'] });
    // An unsubscribe link naming a campaign that is long gone leaves everything.
    expect((await post(`/unsubscribe/${side.token('unsubscribe', '5', { cmp: 'c-gone' })}`, { 'List-Unsubscribe': 'One-Click' }, { accept: '*/*' })).status).toBe(200);
    expect((await side.store.get('5'))!.status).toBe('unsubscribed');
    expect((await side.store.lists('weekly')).find((l) => l.name === 'legacy')).toMatchObject({ byStatus: { active: 1, unsubscribed: 1, pending: 0 } });
  });
});

describe('one-click unsubscribe (RFC 8058)', () => {
  // A campaign as a send leaves it once prepared: reserved for its list, editions frozen.
  const campaign = async (id: string, list: string) => {
    const repository = new CampaignRepository(side.admin, side.keys);
    await repository.reserve({ id, slug: `issue-${id}`, list, mode: 'new', createdAt: Date.now(), at: Date.now(), expected: 1 });
    await repository.freeze(id, `issue-${id}`, list, []);
  };

  it('takes the reader off the list the mail came from, offers all lists, and answers 200 without cookies or redirects', async () => {
    await campaign('c-weekly', 'weekly');
    const { id } = await side.store.upsert({ email: 'gmail@example.org', lang: 'en' }, 'weekly');
    await side.store.addToList(id, 'digest');
    const token = side.token('unsubscribe', id, { cmp: 'c-weekly' });
    // Exactly what Gmail sends.
    const response = await fetch(`${side.base}/unsubscribe/${token}`, { method: 'POST', headers: FORM, body: 'List-Unsubscribe=One-Click', redirect: 'manual' });
    expect(response.status).toBe(200);
    expect(response.headers.get('set-cookie')).toBeNull();
    const page = await response.text();
    expect(page).toContain('will no longer receive the list “weekly”');
    expect(page).toContain('<input type="hidden" name="scope" value="all">');
    expect(page).not.toContain('<script');
    const [s] = await side.store.getMany([id]);
    expect(s).toMatchObject({ status: 'active', lists: ['digest'], left: { weekly: expect.any(String) } });
    expect((await side.store.consentLog(id)).at(-1)).toMatchObject({ event: 'left', list: 'weekly', via: 'one-click' });

    // Again: harmless. Then "all lists", one click further.
    expect((await fetch(`${side.base}/unsubscribe/${token}`, { method: 'POST', headers: FORM, body: 'List-Unsubscribe=One-Click' })).status).toBe(200);
    expect((await post(`/unsubscribe/${token}`, { 'List-Unsubscribe': 'One-Click', scope: 'all' })).status).toBe(200);
    expect(await side.store.get(id)).toMatchObject({ status: 'unsubscribed', unsubscribedVia: 'page' });
  });

  it('unsubscribes a reader whose last list it was, so a send under way skips them too; multipart works', async () => {
    const { id } = await side.store.upsert({ email: 'multipart@example.org', lang: 'de' }, 'weekly');
    const body = new FormData();
    body.set('List-Unsubscribe', 'One-Click');
    const response = await fetch(`${side.base}/unsubscribe/${side.token('unsubscribe', id, { cmp: 'c-weekly' })}`, { method: 'POST', body });
    expect(response.status).toBe(200);
    expect(await side.store.get(id)).toMatchObject({ status: 'unsubscribed', lists: [] });
  });

  it('shows a page with the list and a button that posts the one-click body; GET changes nothing; the POST needs that body', async () => {
    const { id } = await side.store.upsert({ email: 'page@example.org', lang: 'de' }, 'weekly');
    const token = side.token('unsubscribe', id, { cmp: 'c-weekly' });
    for (const method of ['GET', 'HEAD']) expect((await fetch(`${side.base}/unsubscribe/${token}`, { method })).status).toBe(200);
    const page = await (await fetch(`${side.base}/unsubscribe/${token}`, { headers: { 'accept-language': 'en' } })).text();
    expect(page).toContain('<html lang="de">');
    expect(page).toContain('Möchten Sie page@example.org von der Liste „weekly“ abmelden?');
    expect(page).toContain(`<form method="post" action="/unsubscribe/${token}">`);
    expect(page).toContain('<input type="hidden" name="List-Unsubscribe" value="One-Click">');
    expect(page).toMatch(/href="http:\/\/127\.0\.0\.1:\d+\/preferences\/[\w-]+\.[\w-]+"/);
    expect((await side.store.get(id))!.status).toBe('active');
    const empty = await post(`/unsubscribe/${token}`, { other: 'x' }, { accept: 'application/json' });
    expect(empty.status).toBe(400);
    expect(await empty.json()).toMatchObject({ error: { code: 'E_INPUT', field: 'List-Unsubscribe' } });
    expect(await side.store.get(id)).toMatchObject({ status: 'active', lists: ['weekly'] });
  });
});

describe('tokens', () => {
  it('refuses forged, altered, misdirected and expired tokens with a 4xx, changing nothing', async () => {
    const { id } = await side.store.upsert({ email: 'victim@example.org', lang: 'de' }, 'weekly');
    const other = await side.store.upsert({ email: 'other@example.org', lang: 'de' }, 'weekly');
    const genuine = side.token('unsubscribe', id);
    const [payload, mac] = genuine.split('.') as [string, string];
    const otherPayload = side.token('unsubscribe', other.id).split('.')[0]!;
    const cases: [string, string][] = [
      ['POST', `/unsubscribe/${side.token('unsubscribe', id).split('.')[0]}.${'A'.repeat(43)}`],
      ['POST', `/unsubscribe/${otherPayload}.${mac}`],
      ['POST', `/unsubscribe/${payload}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BB' : 'AA'}`],
      ['POST', `/unsubscribe/${payload}`],
      ['POST', '/unsubscribe/not-a-token'],
      ['POST', `/unsubscribe/${side.token('preferences', id)}`],
      ['GET', `/confirm/${side.token('confirm', id, { n: 'x', exp: Math.floor(Date.now() / 1000) - 1 })}`],
      ['GET', `/confirm/${side.token('unsubscribe', id)}`],
      ['POST', `/preferences/${side.token('unsubscribe', id)}`],
    ];
    for (const [method, url] of cases) {
      const response = await fetch(`${side.base}${url}`, { method, headers: FORM, ...(method === 'POST' ? { body: form({ 'List-Unsubscribe': 'One-Click', action: 'unsubscribe' }) } : {}) });
      expect(response.status, `${method} ${url}`).toBe(403);
      expect(await response.text()).toContain('<html lang=');
    }
    expect((await side.store.get(id))!.status).toBe('active');
    expect((await side.store.get(other.id))!.status).toBe('active');
    expect(await side.store.consentLog(id)).toEqual([]);
    // A genuine token for a subscriber that does not exist: 404, nothing created.
    const ghost = await fetch(`${side.base}/unsubscribe/${side.token('unsubscribe', 'zzzzzzzzzzzz')}`);
    expect(ghost.status).toBe(404);
    expect(await side.store.get('zzzzzzzzzzzz')).toBeNull();
  });
});

describe('input', () => {
  const json = (url: string, body: unknown) => fetch(`${side.base}${url}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

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
      const response = await subscribe(payload, { accept: 'application/json' });
      expect(response.status, JSON.stringify(payload)).toBe(400);
      const body = (await response.json()) as { error: { code: string; field: string; message: string } };
      expect(body.error).toMatchObject({ code: 'E_INPUT', field });
      expect(body.error.message).toContain(field);
      if (payload.email) expect(await side.store.findByEmail(payload.email)).toBeNull();
    }
    const page = await subscribe({ email: 'crlf@example.org', name: 'a\nb', lang: 'en' });
    expect(page.status).toBe(400);
    expect(await page.text()).toContain('Please check your input: the name');
  });

  it('answers type-confused JSON with a 400 naming the field, never a 500', async () => {
    const cases: [string, unknown, string][] = [
      ['/subscribe', { email: 'tc@example.org', lang: { toString: 1 } }, 'lang'],
      ['/subscribe', { email: 'tc@example.org', list: { toString: 1 } }, 'list'],
      ['/subscribe', { email: { toString: 1 } }, 'email'],
      ['/subscribe', { email: ['a@example.org', 'b@example.org'] }, 'email'],
      ['/subscribe', { email: 'tc@example.org', name: { toString: 1 } }, 'name'],
      ['/subscribe', { email: 'tc@example.org', list: [{ toString: 1 }] }, 'list'],
      ['/subscribe', { email: 'tc@example.org', website: 7 }, 'website'],
    ];
    for (const [url, body, field] of cases) {
      const response = await json(url, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect(((await response.json()) as { error: { field: string } }).error.field).toBe(field);
    }
    for (const body of ['[1,2]', '"text"', 'null', '{"__proto__":{"x":1}}']) {
      const response = await fetch(`${side.base}/subscribe`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      expect(response.status, body).toBe(400);
    }
    const { id } = await side.store.upsert({ email: 'tc-prefs@example.org', lang: 'de' }, 'weekly');
    const prefs = await json(`/preferences/${side.token('preferences', id)}`, { action: 'save', lang: { toString: 1 } });
    expect(prefs.status).toBe(400);
    expect(await side.store.findByEmail('tc@example.org')).toBeNull();
  });

  it('gives a private list and a missing one the same answer', async () => {
    await side.store.upsert({ email: 'partner@example.org' }, 'partners');
    const answers = [];
    for (const list of ['partners', 'no-such-list']) {
      const response = await subscribe({ email: 'probe@example.org', lang: 'en', list });
      answers.push([response.status, (await response.text()).replace(list, 'L')]);
    }
    expect(answers[0]).toEqual(answers[1]);
    expect(answers[0]![0]).toBe(400);
  });

  it('refuses posts from another site, accepts our own origin, listed origins and none; one-click works from anywhere', async () => {
    const cases: [string | undefined, number][] = [
      ['https://evil.example', 403],
      ['null', 403],
      [side.base, 200],
      ['https://www.example.org', 200],
      [undefined, 200],
    ];
    for (const [origin, status] of cases) {
      const email = `origin-${status}-${cases.findIndex((c) => c[0] === origin)}@example.org`;
      const response = await subscribe({ email, lang: 'en' }, origin ? { origin } : {});
      expect(response.status, String(origin)).toBe(status);
      expect(Boolean(await side.store.findByEmail(email)), String(origin)).toBe(status === 200);
    }
    const { id } = await side.store.upsert({ email: 'origin-unsub@example.org' }, 'weekly');
    const oneClick = await post(`/unsubscribe/${side.token('unsubscribe', id)}`, { 'List-Unsubscribe': 'One-Click' }, { origin: 'https://mail.provider.example' });
    expect(oneClick.status).toBe(200);
    const prefs = await post(`/preferences/${side.token('preferences', id)}`, { action: 'unsubscribe' }, { origin: 'https://evil.example' });
    expect(prefs.status).toBe(403);
  });

  it('gives a bot that fills the honeypot the usual answer and does nothing', async () => {
    const response = await subscribe({ email: 'bot@example.org', lang: 'en', website: 'http://spam.example' });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Please check your inbox');
    await new Promise((r) => setTimeout(r, 150));
    expect(await side.store.findByEmail('bot@example.org')).toBeNull();
    expect(smtp.mails.some((m) => m.to.includes('bot@example.org'))).toBe(false);
  });

  it('escapes HTML everywhere it shows a value', async () => {
    const page = await fetch(`${side.base}/subscribe?lang=en&list=%22%3E%3Cscript%3E`);
    expect(page.status).toBe(200);
    const text = await page.text();
    expect(text).not.toContain('<script>');
    expect(text).toContain('<input type="checkbox" name="list" value="weekly" checked>');
    const evil = await side.store.upsert({ email: "o'neil&co@example.org", name: '<img src=x onerror=alert(1)>', lang: 'en' }, 'weekly');
    const prefs = await (await fetch(`${side.base}/preferences/${side.token('preferences', evil.id)}`)).text();
    expect(prefs).toContain('o&#39;neil&amp;co@example.org');
    expect(prefs).not.toContain("o'neil&co");
  });

  it('refuses TRUST_PROXY=true, naming the setting and what to use instead', () => {
    expect(() => loadConfig({ env: { TRUST_PROXY: 'true', DEPESCHE_SECRET: SECRET } })).toThrow(/TRUST_PROXY: `true` trusts an X-Forwarded-For header that any client can set.*number of proxies/s);
    expect(loadConfig({ env: { TRUST_PROXY: '1' } }).TRUST_PROXY).toBe('1');
    expect(loadConfig({ env: { TRUST_PROXY: '10.0.0.1, 172.16.0.0/12' } }).TRUST_PROXY).toBe('10.0.0.1, 172.16.0.0/12');
  });
});

describe('the sign-up page and the preference centre', () => {
  it('serves the sign-up form at / with the consent text, and links to the archive, Impressum and privacy policy', async () => {
    const page = await (await fetch(`${side.base}/?lang=de`)).text();
    expect(page).toContain('<form method="post" action="/subscribe">');
    expect(page).toContain(t.t('de', 'public.consent.text'));
    expect(page).toContain(`<input type="hidden" name="wording" value="${t.t('de', 'public.consent.version')}">`);
    for (const href of ['/archive?lang=de', '/impressum?lang=de', '/privacy?lang=de']) expect(page).toContain(`href="${href}"`);
    // Public lists only: digest and weekly, never the private partners list.
    expect(page).toContain('value="digest"');
    expect(page).not.toContain('partners');
    const impressum = await (await fetch(`${side.base}/impressum?lang=de`)).text();
    expect(impressum).toContain('Musterstraße 1');
    expect((await fetch(`${side.base}/privacy?lang=en`)).status).toBe(200);
  });

  it('switches the language at once, leaves a list at once (remembered), joins one only by mail, and unsubscribes one click further', async () => {
    const { id } = await side.store.upsert({ email: 'prefs@example.org', lang: 'de' }, 'weekly');
    await side.store.addToList(id, 'partners');
    const token = side.token('preferences', id);
    const page = await (await fetch(`${side.base}/preferences/${token}`)).text();
    expect(page).toContain('Einstellungen für prefs@example.org');
    expect(page).toContain('value="de" checked');
    expect(page).toContain('<input type="checkbox" name="list" value="weekly" checked>');
    expect(page).toContain('<input type="checkbox" name="list" value="digest">');
    expect(page).not.toContain('partners');

    const saved = await post(`/preferences/${token}`, { action: 'save', lang: 'en', list: ['digest'] });
    expect(saved.status).toBe(200);
    const body = await saved.text();
    expect(body).toContain('<html lang="en">');
    expect(body).toContain('The next issues will arrive in English.');
    expect(body).toContain('We sent you an email. Confirm in it that you want to subscribe to digest.');
    // Language and leaving at once; the private list untouched; digest waits for the click.
    expect(await side.store.get(id)).toMatchObject({ lang: 'en', lists: ['partners'], left: { weekly: expect.any(String) }, request: { lists: ['digest'] } });
    const [mail] = await mailsFor(smtp, 'prefs@example.org');
    expect((await post(path(confirmLink(mail!)))).status).toBe(200);
    expect((await side.store.get(id))!.lists).toEqual(['digest', 'partners']);
    // An import of weekly does not put them back on it.
    expect((await side.store.upsertMany([{ email: 'prefs@example.org', status: 'active' }], 'weekly'))[0]).toMatchObject({ keptOff: true });

    const bad = await post(`/preferences/${token}`, { action: 'save', lang: 'xx' });
    expect(bad.status).toBe(400);
    const left = await post(`/preferences/${token}`, { action: 'unsubscribe' });
    expect(left.status).toBe(200);
    expect(await side.store.get(id)).toMatchObject({ status: 'unsubscribed', unsubscribedVia: 'preferences' });
  });
});

describe('rate limit', () => {
  it('limits sign-ups per client IP in Redis, with the IP from X-Forwarded-For only behind the configured number of proxies', async () => {
    const limited = await startPublicSide(redis, smtp, { env: { SUBSCRIBE_RATE_LIMIT: '2', TRUST_PROXY: '1' } });
    try {
      const send = (i: number, ip: string) =>
        fetch(`${limited.base}/subscribe`, { method: 'POST', headers: { ...FORM, accept: 'application/json', 'x-forwarded-for': ip }, body: form({ email: `rl${i}@example.org`, lang: 'de' }) });
      expect((await send(1, '198.51.100.1')).status).toBe(202);
      expect((await send(2, '198.51.100.1')).status).toBe(202);
      const third = await send(3, '198.51.100.1');
      expect(third.status).toBe(429);
      expect(((await third.json()) as { error: { code: string } }).error.code).toBe('E_RATE_LIMIT');
      expect((await send(4, '198.51.100.2')).status).toBe(202);
      // One proxy is trusted: a client's own X-Forwarded-For entries in front are not.
      expect((await send(5, '10.9.9.9, 198.51.100.2')).status).toBe(202);
      expect((await send(6, '10.9.9.8, 198.51.100.2')).status).toBe(429);
      await limited.subscriptions.idle();
      const { id } = (await limited.store.findByEmail('rl4@example.org'))!;
      expect((await limited.store.get(id))!.consent.signupIp).toBe('198.51.100.2');
    } finally {
      await limited.stop();
    }
  });
});
