import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { buildAdminApp } from '../src/server/admin/app.ts';
import { createLogger } from '../src/log.ts';
import { confirmLink, form, mailsFor, startPublicSide, type TestPublicSide } from './support/public-side.ts';
import { startRedis, type TestRedis } from './support/redis.ts';
import { startSmtp, type TestSmtp } from './support/smtp.ts';

let redis: TestRedis;
let smtp: TestSmtp;
let side: TestPublicSide;

beforeAll(async () => {
  [redis, smtp] = await Promise.all([startRedis(), startSmtp()]);
  // Behind one proxy, so X-Forwarded-For names the client, as in production.
  side = await startPublicSide(redis, smtp, { env: { TRUST_PROXY: '1' } });
});
afterAll(async () => {
  await side?.stop();
  await smtp?.close();
  await redis?.stop();
});

const FORM = { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' };
const subscribe = (email: string, ip: string) =>
  fetch(`${side.base}/subscribe`, { method: 'POST', headers: { ...FORM, 'x-forwarded-for': ip }, body: form({ email, lang: 'de', name: 'Spam' }) });
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return (sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2;
};

describe('mail-bombing through the form', () => {
  it('sends one confirmation mail for 40 concurrent posts from 4 IPs, for a new address and for a known one', async () => {
    await side.store.upsert({ email: 'known-bomb@example.org', lang: 'de' }, 'weekly');
    for (const email of ['new-bomb@example.org', 'known-bomb@example.org']) {
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => subscribe(email, `198.51.100.${(i % 4) + 1}`)));
      expect(answers.map((r) => r.status)).toEqual(Array(40).fill(200));
      expect(new Set(await Promise.all(answers.map((r) => r.text()))).size).toBe(1);
      await side.subscriptions.idle();
      await mailsFor(smtp, email);
      await new Promise((r) => setTimeout(r, 300));
      expect(smtp.mails.filter((m) => m.to.includes(email)), email).toHaveLength(1);
    }
    // One subscriber for the new address, however many posts raced to create it.
    expect((await side.admin.hgetall(side.keys.key('email')))['new-bomb@example.org']).toMatch(/^[a-z2-7]{12}$/);
    expect(await side.store.consentLog((await side.store.findByEmail('new-bomb@example.org'))!.id)).toHaveLength(2);
  });
});

describe('the form reveals nobody', () => {
  it('answers new, pending, active and suppressed addresses alike, in content and in time (median of 50 each within 5 ms)', async () => {
    const kinds = ['new', 'pending', 'active', 'unsubscribed', 'bounced', 'complained'] as const;
    const known: Record<string, string> = {};
    for (const kind of kinds.slice(1)) {
      const email = `timing-${kind}@example.org`;
      if (kind === 'pending') {
        await subscribe(email, '192.0.2.1');
      } else {
        const { id } = await side.store.upsert({ email, lang: 'de' }, 'weekly');
        if (kind === 'unsubscribed') await side.store.unsubscribe(id, 'page');
        if (kind === 'bounced') await side.store.bounce(id, { reason: '550 5.1.1', source: 'smtp' });
        if (kind === 'complained') await side.store.complain(id, { reason: 'ARF', source: 'inbound' });
      }
      known[kind] = email;
    }
    let fresh = 0;
    const addressOf = (kind: (typeof kinds)[number]) => (kind === 'new' ? `timing-new-${fresh++}@example.org` : known[kind]!);
    // The answer is timed as fastify hands it over (inject), through routing, body parsing,
    // the rate limit in Redis and the subscriber domain. Over a loopback socket this client,
    // living in the server's own process, would read the answer only after the server's
    // post-answer work (the mail) and after extra scheduling on a loaded machine; a remote
    // client sees neither.
    const time = async (kind: (typeof kinds)[number]) => {
      const email = addressOf(kind);
      const started = performance.now();
      const response = await side.app.inject({
        method: 'POST',
        url: '/subscribe',
        headers: { ...FORM, 'x-forwarded-for': '192.0.2.50' },
        payload: form({ email, lang: 'de', name: 'Spam' }),
      });
      const ms = performance.now() - started;
      // The mail goes out after the answer; let it, so its work never lands in the next try.
      await side.subscriptions.idle();
      return { ms, status: response.statusCode, body: response.body.replace(email, 'X') };
    };
    const measure = async () => {
      const samples: Record<string, number[]> = Object.fromEntries(kinds.map((k) => [k, []]));
      const bodies = new Set<string>();
      for (let round = 0; round < 50; round++) {
        // Interleaved, in a new order each round, so load on the machine falls on every kind alike.
        for (const kind of [...kinds].sort(() => Math.random() - 0.5)) {
          const { ms, status, body } = await time(kind);
          expect(status).toBe(200);
          bodies.add(body);
          samples[kind]!.push(ms);
        }
      }
      expect(bodies.size).toBe(1);
      const medians = Object.fromEntries(kinds.map((k) => [k, Math.round(median(samples[k]!) * 100) / 100]));
      const spread = Math.max(...Object.values(medians)) - Math.min(...Object.values(medians));
      console.log(`form answer, median ms of 50 per kind: ${JSON.stringify(medians)}; spread ${spread.toFixed(2)} ms`);
      return spread;
    };
    // Warm up every path (JIT, connections, script cache) before measuring.
    for (let i = 0; i < 5; i++) for (const kind of kinds) await time(kind);
    // On a 2-core machine shared with other test runs, scheduling alone moves a median of 50
    // by a few ms now and then. A path that really differs (a mail sent before the answer, an
    // extra round trip) fails every measurement; chance passes one of three.
    const spreads: number[] = [];
    for (let attempt = 0; attempt < 3 && !(spreads.at(-1)! < 5); attempt++) spreads.push(await measure());
    expect(Math.min(...spreads)).toBeLessThan(5);
  }, 120_000);
});

describe('logs', () => {
  it('never holds a confirm, unsubscribe or preferences token, nor an admin token, only the route', async () => {
    side.logs.length = 0;
    await subscribe('logged@example.org', '192.0.2.9');
    const [mail] = await mailsFor(smtp, 'logged@example.org');
    const link = confirmLink(mail!);
    const confirmPath = new URL(link).pathname;
    await fetch(link);
    await fetch(`${side.base}${confirmPath}`, { method: 'POST', headers: FORM });
    const { id } = (await side.store.findByEmail('logged@example.org'))!;
    const tokens = [confirmPath.split('/')[2]!, side.token('unsubscribe', id, { cmp: 'c1' }), side.token('preferences', id)];
    await fetch(`${side.base}/preferences/${tokens[2]}`);
    await fetch(`${side.base}/preferences/${tokens[2]}`, { method: 'POST', headers: FORM, body: form({ action: 'save', lang: 'en' }) });
    await fetch(`${side.base}/unsubscribe/${tokens[1]}?lang=de`);
    await fetch(`${side.base}/unsubscribe/${tokens[1]}`, { method: 'POST', headers: FORM, body: 'List-Unsubscribe=One-Click' });
    await fetch(`${side.base}/confirm/${tokens[0]}x`);

    const publicLog = side.logs.map((line) => JSON.stringify(line)).join('\n');
    expect(side.logs.length).toBeGreaterThan(10);
    for (const token of tokens) {
      expect(publicLog).not.toContain(token);
      // Not even the signature alone.
      expect(publicLog).not.toContain(token.split('.')[1]!);
    }
    for (const route of ['/confirm/[token]', '/unsubscribe/[token]?lang=de', '/preferences/[token]']) expect(publicLog).toContain(route);

    const lines: string[] = [];
    const logger = createLogger({ level: 'info', pretty: false, destination: new Writable({ write: (chunk, _e, done) => (lines.push(String(chunk)), done()) }) });
    const adminToken = 'admin-token-for-the-log-test-0123';
    const admin = await buildAdminApp({ config: { ADMIN_HOST: '0.0.0.0', ADMIN_TOKEN: adminToken }, logger });
    try {
      await admin.inject({ url: `/api/campaigns?token=${adminToken}` });
      await admin.inject({ url: `/login?next=%2Fapi%2Fcampaigns%3Ftoken%3D${adminToken}` });
      await admin.inject({ method: 'POST', url: '/login', payload: form({ token: adminToken, next: '/api/x' }), headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    } finally {
      await admin.close();
    }
    expect(lines.join('').length).toBeGreaterThan(100);
    expect(lines.join('')).not.toContain(adminToken);
    expect(lines.join('')).toContain('/api/campaigns?token=[redacted]');
  });
});
