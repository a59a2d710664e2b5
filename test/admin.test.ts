import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import nodemailer from 'nodemailer';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { buildAdminApp } from '../src/server/admin/app.ts';
import { isLoopbackHost } from '../src/server/shared/hosts.ts';
import { createMetrics } from '../src/server/admin/metrics.ts';
import { createSmtpLatencyRecorder, readSmtpLatency } from '../src/transport/smtp-latency.ts';
import { startDevInbox, type DevInbox } from '../src/transport/dev-inbox.ts';
import { createSmtpTransport } from '../src/transport/smtp.ts';
import { isDepescheError } from '../src/errors.ts';
import { keyspace } from '../src/config/redis.ts';
import { startRedis, type TestRedis } from './support/redis.ts';
import { startSmtp, type TestSmtp } from './support/smtp.ts';

const TOKEN = 'test-admin-token-0123456789';

/**
 * Checks the Prometheus text exposition format (version 0.0.4) line by line: HELP and
 * TYPE comments, then samples `name{label="value",…} number`, with every sample's family
 * declared by a TYPE line first. Returns the samples so tests can look values up.
 */
function parsePrometheus(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const types = new Map<string, string>();
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  const metricName = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
  const closedFamilies = new Set<string>();
  const seenSeries = new Set<string>();
  let currentFamily = '';
  expect(text.endsWith('\n')).toBe(true);
  for (const [index, line] of text.split('\n').entries()) {
    if (line === '') continue;
    const where = `line ${index + 1}: ${line}`;
    if (line.startsWith('# HELP ')) {
      expect(line.split(' ')[2], where).toMatch(metricName);
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      expect(name, where).toMatch(metricName);
      expect(['counter', 'gauge', 'histogram', 'summary', 'untyped'], where).toContain(type);
      types.set(name!, type!);
      continue;
    }
    expect(line.startsWith('#'), where).toBe(false);
    // Values as Go's ParseFloat reads them (Prometheus does): NaN and Inf in any letter case.
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? ([-+]?(?:[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?|[iI][nN][fF]|[nN][aA][nN]))(?: -?\d+)?$/.exec(line);
    expect(match, where).not.toBeNull();
    const [, name, labelText, rawValue] = match!;
    const labels: Record<string, string> = {};
    if (labelText) {
      const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
      let consumed = 0;
      for (const m of labelText.matchAll(labelPattern)) {
        labels[m[1]!] = m[2]!;
        consumed += m[0].length;
      }
      expect(consumed, `labels of ${where}`).toBe(labelText.length);
    }
    const family = types.has(name!) ? name! : name!.replace(/_(bucket|sum|count|total|created)$/, '');
    expect(types.has(family), `TYPE before sample, ${where}`).toBe(true);
    // A family's samples come together, and no series appears twice.
    if (family !== currentFamily) {
      expect(closedFamilies.has(family), `family ${family} split up, ${where}`).toBe(false);
      if (currentFamily) closedFamilies.add(currentFamily);
      currentFamily = family;
    }
    const series = `${name}{${labelText ?? ''}}`;
    expect(seenSeries.has(series), `duplicate series, ${where}`).toBe(false);
    seenSeries.add(series);
    const lower = rawValue!.toLowerCase();
    const value = lower.endsWith('inf') ? (lower.startsWith('-') ? -Infinity : Infinity) : lower === 'nan' ? NaN : Number(rawValue);
    expect(Number.isNaN(value) && lower !== 'nan', where).toBe(false);
    samples.push({ name: name!, labels, value });
  }
  return samples;
}

describe('admin app binding and auth', () => {
  it('treats only loopback addresses as loopback', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('::1')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackHost('::')).toBe(false);
    expect(isLoopbackHost('192.168.1.10')).toBe(false);
  });

  it('refuses a public bind without ADMIN_TOKEN and says why', async () => {
    const error = await buildAdminApp({ config: { ADMIN_HOST: '0.0.0.0', ADMIN_TOKEN: undefined } }).catch((e: unknown) => e);
    expect(isDepescheError(error)).toBe(true);
    const message = (error as Error & { hint?: string }).message + (error as { hint?: string }).hint;
    expect(message).toContain('0.0.0.0');
    expect(message).toContain('ADMIN_TOKEN');
  });

  it('starts on a public bind with a token, and answers 401 without a valid one', async () => {
    const app = await buildAdminApp({ config: { ADMIN_HOST: '0.0.0.0', ADMIN_TOKEN: TOKEN } });
    try {
      expect((await app.inject({ url: '/api/campaigns' })).statusCode).toBe(401);
      expect((await app.inject({ url: '/metrics' })).statusCode).toBe(401);
      expect((await app.inject({ url: '/queues' })).statusCode).toBe(401);
      const wrong = await app.inject({ url: '/metrics', headers: { authorization: 'Bearer not-the-token-at-all' } });
      expect(wrong.statusCode).toBe(401);
      expect(wrong.json().error.code).toBe('E_UNAUTHORIZED');
      const htmlPage = await app.inject({ url: '/campaigns', headers: { accept: 'text/html' } });
      expect(htmlPage.statusCode).toBe(401);
      expect(htmlPage.body).toContain('<form method="post" action="/login"');

      const ok = await app.inject({ url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.statusCode).toBe(200);
      // Health checks from a container runtime carry no token.
      expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);

      // ?token= trades the token for a cookie and drops it from the URL.
      const viaQuery = await app.inject({ url: `/campaigns?token=${TOKEN}&x=1` });
      expect(viaQuery.statusCode).toBe(303);
      expect(viaQuery.headers.location).toBe('/campaigns?x=1');
      const cookie = String(viaQuery.headers['set-cookie']).split(';')[0]!;
      expect(cookie).toMatch(/^depesche_admin=/);
      expect((await app.inject({ url: '/campaigns', headers: { cookie } })).statusCode).toBe(200);
      expect((await app.inject({ url: '/campaigns', headers: { cookie: 'depesche_admin=forged-cookie-value-123' } })).statusCode).toBe(401);

      const badLogin = await app.inject({ method: 'POST', url: '/login', payload: 'token=wrong-token-wrong-token&next=/inbox', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(badLogin.statusCode).toBe(401);
      const login = await app.inject({ method: 'POST', url: '/login', payload: `token=${TOKEN}&next=/campaigns`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(login.statusCode).toBe(303);
      expect(login.headers.location).toBe('/campaigns');
      const behindTls = await app.inject({ url: `/?token=${TOKEN}`, headers: { 'x-forwarded-proto': 'https' } });
      expect(String(behindTls.headers['set-cookie'])).toMatch(/; Secure$/);
      expect(String(viaQuery.headers['set-cookie'])).not.toContain('Secure');
      expect(String(viaQuery.headers['set-cookie'])).toContain('HttpOnly; SameSite=Strict');
      const evil = await app.inject({ method: 'POST', url: '/login', payload: `token=${TOKEN}&next=//evil.example`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
      expect(evil.headers.location).toBe('/');
    } finally {
      await app.close();
    }
  });

  it('needs no token on loopback, but refuses DNS rebinding and cross-site writes', async () => {
    const app = await buildAdminApp({ config: { ADMIN_HOST: '127.0.0.1', ADMIN_TOKEN: undefined } });
    try {
      expect((await app.inject({ url: '/campaigns' })).statusCode).toBe(200);
      expect((await app.inject({ url: '/', headers: { host: '127.0.0.1:4000' } })).statusCode).toBe(200);
      expect((await app.inject({ url: '/', headers: { host: '[::1]:4000' } })).statusCode).toBe(200);
      expect((await app.inject({ url: '/api/campaigns', headers: { host: 'attacker.example:4000' } })).statusCode).toBe(421);
      const csrf = await app.inject({
        method: 'POST',
        url: '/api/campaigns/c1/cancel',
        headers: { host: '127.0.0.1:4000', origin: 'https://attacker.example' },
      });
      expect(csrf.statusCode).toBe(403);
      const sameOrigin = await app.inject({
        method: 'POST',
        url: '/api/campaigns/c1/cancel',
        headers: { host: '127.0.0.1:4000', origin: 'http://127.0.0.1:4000' },
      });
      // Passes the guard and reaches the API, which has no sending wired in this test.
      expect(sameOrigin.statusCode).toBe(500);
      expect(sameOrigin.json().error.code).toBe('E_CONFIG');
    } finally {
      await app.close();
    }
  });
});

describe('admin app with Redis, queues, inbox and metrics', () => {
  let redis: TestRedis;
  let smtp: TestSmtp;
  let inbox: DevInbox;
  let client: Redis;
  let queue: Queue;

  beforeAll(async () => {
    [redis, smtp, inbox] = await Promise.all([startRedis(), startSmtp(), startDevInbox()]);
    client = new Redis(redis.url);
    queue = new Queue('admin-test', { connection: { url: redis.url }, prefix: keyspace('admintest').tag });
    await queue.add('a', { n: 1 });
    await queue.add('b', { n: 2 }, { delay: 60_000 });
  });

  afterAll(async () => {
    await queue?.close();
    client?.disconnect();
    await Promise.all([redis?.stop(), smtp?.close(), inbox?.close()]);
  });

  it('serves /metrics as valid Prometheus text with queue depth and SMTP latency summed over workers', async () => {
    const keys = keyspace('admintest');
    // Two "workers" record into the same Redis hash; the admin app serves the sum.
    const workerA = createSmtpLatencyRecorder(client, keys, { flushMs: 60_000 });
    const workerB = createSmtpLatencyRecorder(client, keys, { flushMs: 60_000 });
    const transport = workerA.instrument(createSmtpTransport({ SMTP_URL: smtp.url, SMTP_POOL_SIZE: 1 }));
    await transport.sendMail({ from: 'a@example.org', to: 'b@example.org', subject: 'hi', text: 'hi' });
    smtp.setFault(() => ({ code: 550, message: 'no such user' }));
    await expect(transport.sendMail({ from: 'a@example.org', to: 'c@example.org', subject: 'hi', text: 'hi' })).rejects.toMatchObject({ responseCode: 550 });
    smtp.setFault(undefined);
    await transport.close();
    workerB.observe(0.002, 'accepted');
    workerB.observe(20, 'accepted');
    await Promise.all([workerA.close(), workerB.close()]);

    const metrics = createMetrics({
      queues: async () => [{ queue: queue.name, counts: await queue.getJobCounts() }],
      deliveries: async () => ({ sent: 7, failed: 2 }),
      smtpLatency: () => readSmtpLatency(client, keys),
    });

    const app = await buildAdminApp({ config: { ADMIN_HOST: '127.0.0.1', ADMIN_TOKEN: undefined }, metrics, queues: [queue], redis: client });
    try {
      const res = await app.inject({ url: '/metrics' });
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-type']).toContain('text/plain');
      const samples = parsePrometheus(res.body);
      const find = (name: string, labels: Record<string, string>) =>
        samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
      expect(find('depesche_queue_jobs', { queue: 'admin-test', state: 'waiting' })).toBe(1);
      expect(find('depesche_queue_jobs', { queue: 'admin-test', state: 'delayed' })).toBe(1);
      expect(find('depesche_deliveries_total', { result: 'sent' })).toBe(7);
      expect(find('depesche_deliveries_total', { result: 'failed' })).toBe(2);
      expect(find('depesche_smtp_send_duration_seconds_count', { result: 'accepted' })).toBe(3);
      expect(find('depesche_smtp_send_duration_seconds_count', { result: '5xx' })).toBe(1);
      expect(find('depesche_smtp_send_duration_seconds_bucket', { result: 'accepted', le: '+Inf' })).toBe(3);
      // 20 s exceeds the largest bucket: counted in +Inf only.
      expect(find('depesche_smtp_send_duration_seconds_bucket', { result: 'accepted', le: '10' })).toBe(2);
      expect(find('depesche_smtp_send_duration_seconds_bucket', { result: 'accepted', le: '0.0025' })).toBeGreaterThanOrEqual(1);
      expect(find('depesche_smtp_send_duration_seconds_sum', { result: 'accepted' })).toBeGreaterThan(20);
      expect(find('depesche_metrics_source_up', { source: 'smtp-latency' })).toBe(1);

      expect((await app.inject({ url: '/healthz' })).json()).toMatchObject({ ok: true, redis: { ok: true } });
      const board = await app.inject({ url: '/queues' });
      expect(board.statusCode).toBe(200);
      expect(board.body).toContain('Depesche queues');
      const queuesApi = await app.inject({ url: '/queues/api/queues' });
      expect(queuesApi.statusCode).toBe(200);
      expect(JSON.stringify(queuesApi.json())).toContain('admin-test');
    } finally {
      await app.close();
    }
  });

  it('still answers /metrics when a source fails, and says which', async () => {
    const metrics = createMetrics({
      queues: async () => {
        throw new Error('redis down');
      },
      deliveries: async () => ({ sent: 1 }),
    });
    const app = await buildAdminApp({ config: { ADMIN_HOST: '127.0.0.1', ADMIN_TOKEN: undefined }, metrics });
    try {
      const res = await app.inject({ url: '/metrics' });
      expect(res.statusCode).toBe(200);
      const samples = parsePrometheus(res.body);
      expect(samples.find((s) => s.name === 'depesche_metrics_source_up' && s.labels.source === 'queues')?.value).toBe(0);
      expect(samples.find((s) => s.name === 'depesche_metrics_source_up' && s.labels.source === 'deliveries')?.value).toBe(1);
      expect(samples.some((s) => s.name === 'depesche_queue_jobs')).toBe(false);
    } finally {
      await app.close();
    }
  });

  it('reports Redis down on /healthz with 503', async () => {
    const dead = new Redis({ port: 1, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    dead.on('error', () => {});
    const app = await buildAdminApp({ config: { ADMIN_HOST: '127.0.0.1', ADMIN_TOKEN: undefined }, redis: dead });
    try {
      const res = await app.inject({ url: '/healthz' });
      expect(res.statusCode).toBe(503);
      expect(res.json().ok).toBe(false);
    } finally {
      await app.close();
      dead.disconnect();
    }
  });

  it('answers the ops API with one error shape when sending is not wired', async () => {
    const app = await buildAdminApp({ config: { ADMIN_HOST: '127.0.0.1', ADMIN_TOKEN: undefined } });
    try {
      const res = await app.inject({ method: 'POST', url: '/api/campaigns', payload: { slug: '' } });
      expect(res.statusCode).toBe(400);
      expect(res.json().error.code).toBe('E_INPUT');
      expect(res.json().error.message).toContain('slug');
    } finally {
      await app.close();
    }
  });

  it('shows mails from the dev inbox with passing and failing header checks', async () => {
    const mailer = nodemailer.createTransport({ url: inbox.url } as never);
    await mailer.sendMail({
      from: 'Depesche <newsletter@example.org>',
      to: 'anna@example.org',
      subject: 'Good headers',
      html: '<p>Hallo</p><script>parent.document.title="pwned"</script>',
      text: 'Hallo',
      headers: {
        'List-Unsubscribe': '<https://news.example.org/unsubscribe/t1>, <mailto:unsubscribe@example.org?subject=unsubscribe>',
        'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click',
        'List-Id': 'Briefing <briefing.news.example.org>',
        'Content-Language': 'de',
      },
    });
    // A campaign mail (it says so) without its List headers.
    await mailer.sendMail({ from: 'x@example.org', to: 'bob@example.org', subject: 'Bare', text: 'no list headers', headers: { 'X-Depesche-Campaign': 'c1' } });
    mailer.close();

    const app = await buildAdminApp({ config: { ADMIN_HOST: '127.0.0.1', ADMIN_TOKEN: undefined }, inbox });
    try {
      const list = (await app.inject({ url: '/api/inbox' })).json().mails as { id: string; subject: string; kind: string }[];
      expect(list.map((m) => [m.subject, m.kind])).toEqual([
        ['Bare', 'campaign'],
        ['Good headers', 'campaign'],
      ]);
      const good = (await app.inject({ url: `/api/inbox/${list[1]!.id}` })).json();
      const status = Object.fromEntries((good.checks as { name: string; status: string }[]).map((c) => [c.name, c.status]));
      expect(status).toMatchObject({
        'List-Unsubscribe URL': 'pass',
        'List-Unsubscribe mailto': 'pass',
        'List-Unsubscribe-Post': 'pass',
        'List-Id': 'pass',
        'Content-Language': 'pass',
        'multipart/alternative': 'pass',
        'Message-ID': 'pass',
      });
      const bare = (await app.inject({ url: `/api/inbox/${list[0]!.id}` })).json();
      const bareStatus = Object.fromEntries((bare.checks as { name: string; status: string }[]).map((c) => [c.name, c.status]));
      expect(bareStatus).toMatchObject({ 'List-Unsubscribe': 'fail', 'List-Unsubscribe-Post': 'fail', 'List-Id': 'fail' });

      const listPage = await app.inject({ url: '/inbox' });
      expect(listPage.body).toContain('Good headers');
      expect(listPage.body).toContain('✗ 5 header checks failed');
      const detail = await app.inject({ url: `/inbox/${list[1]!.id}` });
      expect(detail.body).toContain('<iframe sandbox');
      const framed = await app.inject({ url: `/inbox/${list[1]!.id}/html` });
      expect(framed.headers['content-security-policy']).toMatch(/^sandbox/);
      const raw = await app.inject({ url: `/inbox/${list[1]!.id}/raw` });
      expect(raw.body).toContain('List-Unsubscribe-Post: List-Unsubscribe=One-Click');
      expect((await app.inject({ url: '/inbox/nope' })).statusCode).toBe(404);
    } finally {
      await app.close();
    }
  });
});
