import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignService, startWorker, type RunningWorker } from '../src/campaign/index.ts';
import { keyspace, loadConfig, type Config } from '../src/config/index.ts';
import { createCompiler } from '../src/render/index.ts';
import { RedisSubscriberStore } from '../src/subscribers/redis-store.ts';
import { SECRET, startPublicSide, type TestPublicSide } from './support/public-side.ts';
import { startRedis, type TestRedis } from './support/redis.ts';
import { startSmtp, type TestSmtp } from './support/smtp.ts';

const REPO = new URL('../', import.meta.url).pathname;
const SENT = '2026-02-22-china-ai2x';
const PUBLISHED = '2026-02-15-chinas-ki-zentren';
const DRAFT = '2026-09-01-halb-fertig';
const EVIL = '2026-09-02-evil';
const PREFIX = 'archive';

let redis: TestRedis;
let smtp: TestSmtp;
let side: TestPublicSide;
let content: string;
let marker: string;
let config: Config;
let connection: Redis;
let service: CampaignService;
let worker: RunningWorker;
let workerRedis: Redis;

beforeAll(async () => {
  [redis, smtp] = await Promise.all([startRedis(), startSmtp()]);
  // A content folder as an editor's: two finished issues, a half-written draft, and an
  // issue whose front matter would run code if anything ever compiled it on request.
  content = await mkdtemp(join(tmpdir(), 'depesche-archive-'));
  marker = join(content, 'CODE-RAN');
  for (const folder of ['templates', 'locales', `issues/${SENT}`, `issues/${PUBLISHED}`]) await cp(join(REPO, folder), join(content, folder), { recursive: true });
  await mkdir(join(content, 'issues', DRAFT));
  await writeFile(join(content, 'issues', DRAFT, 'de.md'), '---\ntemplate: briefing\ntitle: Entwurf\nsubject: "Noch nicht fertig"\n---\n\n::: news\n## Halb');
  await mkdir(join(content, 'issues', EVIL));
  await writeFile(join(content, 'issues', EVIL, 'de.md'), `---js\n{ template: (require('fs').writeFileSync(${JSON.stringify(marker)}, 'ran'), 'briefing'), title: 'x' }\n---\n`);

  config = loadConfig({
    env: { REDIS_URL: redis.url, SMTP_URL: smtp.url, DEPESCHE_PREFIX: PREFIX, DEPESCHE_SECRET: SECRET, PUBLIC_URL: 'https://news.example.org', CONTENT_DIR: content, SEND_RATE: '10000', MAIL_FROM: 'China AI2X Briefing <briefing@example.org>' },
  });
  side = await startPublicSide(redis, smtp, { prefix: PREFIX, env: { CONTENT_DIR: content, PUBLIC_URL: 'https://news.example.org' } });
  connection = new Redis(redis.url, { maxRetriesPerRequest: null });
  const store = new RedisSubscriberStore(connection, keyspace(PREFIX));
  await store.upsertMany([{ email: 'reader.de@example.net', name: 'Reader Eins', lang: 'de' }, { email: 'reader.en@example.net', name: 'Reader Two', lang: 'en' }], 'weekly');
  service = new CampaignService({ config, redis: connection, subscribers: store, compiler: createCompiler({ contentDir: content, publicUrl: config.PUBLIC_URL }) });
  workerRedis = new Redis(redis.url, { maxRetriesPerRequest: null });
  workerRedis.on('error', () => {});
  worker = await startWorker({ config, subscribers: new RedisSubscriberStore(workerRedis, keyspace(PREFIX)) });
}, 60_000);

afterAll(async () => {
  await worker?.close();
  workerRedis?.disconnect();
  await service?.close();
  connection?.disconnect();
  await side?.stop();
  await smtp?.close();
  await redis?.stop();
  await rm(content, { recursive: true, force: true });
});

const get = (path: string) => fetch(`${side.base}${path}`);

describe('the archive is what was sent', () => {
  it('shows no draft and no unsent issue, and never compiles an issue file on request', async () => {
    for (const path of ['/archive', '/archive?lang=de', `/archive/${SENT}/de`, `/archive/${DRAFT}/de`, `/archive/${EVIL}/de`, '/archive/de.atom']) await get(path);
    const page = await (await get('/archive')).text();
    for (const slug of [SENT, PUBLISHED, DRAFT, EVIL]) expect(page).not.toContain(slug);
    expect(page).toContain('Noch keine Ausgaben.');
    for (const slug of [SENT, DRAFT, EVIL]) expect((await get(`/archive/${slug}/de`)).status).toBe(404);
    expect(existsSync(marker)).toBe(false);
  });

  it('lists an issue once a campaign finished sending it, per language and newest first, serving the frozen edition without personal data', async () => {
    // A campaign still scheduled is not the archive's either.
    await service.create({ slug: PUBLISHED, list: 'weekly', at: new Date(Date.now() + 3_600_000).toISOString() });
    const { id } = await service.create({ slug: SENT, list: 'weekly' });
    const deadline = Date.now() + 30_000;
    while ((await service.status(id!)).state !== 'done') {
      if (Date.now() > deadline) throw new Error('the campaign did not finish');
      await new Promise((r) => setTimeout(r, 100));
    }
    // What the readers got names them by random ids only: in the Message-ID and in the links.
    for (const mail of smtp.mails.filter((m) => m.to[0]!.startsWith('reader.'))) {
      const id = (await side.store.findByEmail(mail.to[0]!))!.id;
      expect(id).toMatch(/^[a-z2-7]{12}$/);
      expect(mail.parsed.messageId).toContain(`.${id}.`);
      const line = mail.parsed.headerLines.find((l) => l.key === 'list-unsubscribe')!.line;
      const token = /\/unsubscribe\/([\w-]+)\./.exec(line)![1]!;
      expect(JSON.parse(Buffer.from(token, 'base64url').toString())).toMatchObject({ act: 'unsubscribe', sub: id });
    }
    // The editor keeps working on the file after the send: the archive still shows what went out.
    const file = join(content, 'issues', SENT, 'de.md');
    await writeFile(file, (await readFile(file, 'utf8')).replace('Ein Sprachmodell von Alibaba rechnet im Orbit', 'NACH DEM VERSAND GEÄNDERT'));

    const page = await (await get('/archive')).text();
    expect(page).toContain(`href="/archive/${SENT}/de"`);
    expect(page).toContain(`href="/archive/${SENT}/en"`);
    expect(page).not.toContain(PUBLISHED);
    expect(page).not.toContain(DRAFT);
    expect(page).toContain('<link rel="alternate" type="application/atom+xml" hreflang="de" href="https://news.example.org/archive/de.atom">');
    for (const lang of ['de', 'en'] as const) {
      const edition = await get(`/archive/${SENT}/${lang}`);
      expect(edition.status).toBe(200);
      const html = await edition.text();
      expect(html).toContain(`lang="${lang}"`);
      expect(html).not.toContain('%%depesche.');
      expect(html).not.toMatch(/Reader (Eins|Two)|reader\.(de|en)@/);
      expect(html).toContain(`https://news.example.org/unsubscribe?lang=${lang}`);
      expect(html).not.toMatch(/\/unsubscribe\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/);
    }
    const de = await (await get(`/archive/${SENT}/de`)).text();
    expect(de).toContain('Ein Sprachmodell von Alibaba rechnet im Orbit');
    expect(de).not.toContain('NACH DEM VERSAND GEÄNDERT');

    const feed = await (await get('/archive/de.atom')).text();
    expect(feed).toMatch(/^<\?xml version="1.0" encoding="utf-8"\?>\n<feed xmlns="http:\/\/www.w3.org\/2005\/Atom" xml:lang="de">/);
    expect(feed).toContain(`<link rel="alternate" type="text/html" href="https://news.example.org/archive/${SENT}/de"/>`);
    expect(feed).toContain('<title>China AI2X: Ein Sprachmodell von Alibaba rechnet im Orbit</title>');
    expect(feed.match(/<entry>/g)).toHaveLength(1);
    expect(existsSync(marker)).toBe(false);
  });

  it('answers unknown issues, languages and traversal attempts with 404, and points token-less links to the mail', async () => {
    for (const url of [`/archive/${SENT}/fr`, '/archive/no-such-issue/de', '/archive/..%2F..%2Fetc/de', '/archive/%2e%2e/de']) expect((await get(url)).status, url).toBe(404);
    expect(await (await get('/unsubscribe?lang=en')).text()).toContain('in the email you received');
    expect(await (await get('/unsubscribe?lang=de')).text()).toContain('in der E-Mail, die Sie erhalten haben');
  });

  it('publishes an issue on purpose with `depesche publish`, compiled once, and withdraws it', async () => {
    const run = promisify(execFile);
    const env = { ...process.env, REDIS_URL: redis.url, DEPESCHE_PREFIX: PREFIX, CONTENT_DIR: content, PUBLIC_URL: 'https://news.example.org', LOG_LEVEL: 'warn' };
    const published = await run(process.execPath, [join(REPO, 'bin/depesche.js'), 'publish', PUBLISHED], { env, cwd: content });
    expect(published.stdout).toContain(`${PUBLISHED}: published (de, en)`);
    const page = await (await get('/archive?lang=en')).text();
    expect(page).toContain(`href="/archive/${PUBLISHED}/en"`);
    // Newest first: the publication came after the send.
    expect(page.indexOf(PUBLISHED)).toBeLessThan(page.indexOf(SENT));
    expect((await get(`/archive/${PUBLISHED}/de`)).status).toBe(200);
    await run(process.execPath, [join(REPO, 'bin/depesche.js'), 'publish', PUBLISHED, '--withdraw'], { env, cwd: content });
    expect((await get(`/archive/${PUBLISHED}/de`)).status).toBe(404);
  }, 60_000);

  it('keeps the public app away from compiling: nothing it loads imports the compiler or the issue loader', async () => {
    const files = [
      ...(await readdir(join(REPO, 'src/server/public'))).map((f) => join(REPO, 'src/server/public', f)),
      join(REPO, 'src/app/public-side.ts'),
      join(REPO, 'src/app/archive-source.ts'),
    ];
    for (const file of files) {
      const source = await readFile(file, 'utf8');
      expect(source, file).not.toMatch(/from '[./]*(render\/(index|compiler)|content\/)[^']*'/);
    }
  });
});
