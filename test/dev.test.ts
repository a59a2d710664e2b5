import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/ports.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
const node = join(repo, 'node_modules/.bin/node');
const bin = join(repo, 'bin/depesche.js');

/** The environment of a fresh shell: none of Depesche's settings, so dev must bring its own. */
function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(REDIS_URL|SMTP_URL|PUBLIC_URL|DEPESCHE_|ADMIN_|PORT|HOST|MAIL_FROM|CONTENT_DIR|LOG_LEVEL)/.test(key)) env[key] = value;
  }
  return { ...env, CONTENT_DIR: repo, LOG_LEVEL: 'warn', ...extra };
}

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(args: string[], cwd: string, env: NodeJS.ProcessEnv): Running {
  const child = spawn(node, [bin, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs: number, diagnostics: () => string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n--- output ---\n${diagnostics()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('depesche dev without REDIS_URL', () => {
  let cwd: string;
  let port: number;
  let dev: Running;
  let base: string;

  beforeAll(async () => {
    cwd = mkdtempSync(join(tmpdir(), 'depesche-dev-'));
    // Two consecutive free ports: admin and public.
    for (;;) {
      port = await freePort();
      const next = await freePort().catch(() => 0);
      if (next !== port + 1 && port < 65000) break;
    }
    dev = run(['dev', '--port', String(port)], cwd, cleanEnv());
    base = `http://127.0.0.1:${port}`;
    await waitFor('the dev banner', () => (dev.output().includes('Depesche dev is running') ? true : dev.child.exitCode !== null ? Promise.reject(new Error(dev.output())) : undefined), 60_000, dev.output);
  }, 90_000);

  afterAll(async () => {
    if (dev && dev.child.exitCode === null) {
      dev.child.kill('SIGKILL');
      await dev.exited;
    }
    // A SIGKILLed dev leaves its redis-server; the pid file says which one is ours.
    const pidFile = join(cwd, '.depesche/redis/redis.pid');
    if (existsSync(pidFile)) {
      const pid = Number(readFileSync(pidFile, 'utf8'));
      if (pid > 1 && pidAlive(pid)) process.kill(pid, 'SIGTERM');
    }
    rmSync(cwd, { recursive: true, force: true });
  });

  it('prints every URL and how to reach it from another terminal', () => {
    const out = dev.output();
    for (const path of ['/', '/inbox', '/api', '/queues', '/metrics']) expect(out).toContain(`${base}${path}`);
    expect(out).toContain(`http://127.0.0.1:${port + 1}`);
    expect(out).toMatch(/Redis\s+redis:\/\/127\.0\.0\.1:\d+ \(private/);
    expect(out).toContain('The list "sample" has 3 German and 3 English active readers');
    const env = readFileSync(join(cwd, '.depesche/dev.env'), 'utf8');
    expect(env).toMatch(/^REDIS_URL=redis:\/\/127\.0\.0\.1:\d+$/m);
    expect(env).toMatch(/^DEPESCHE_SECRET=[0-9a-f]{64}$/m);
  });

  it('answers the preview, the inbox, the queue dashboard and the public archive', async () => {
    const preview = await fetch(`${base}/`);
    expect(preview.status).toBe(200);
    expect(await preview.text()).toContain('<html');
    const inbox = await fetch(`${base}/inbox`);
    expect(inbox.status).toBe(200);
    expect(await inbox.text()).toContain('Dev inbox');
    const queues = await fetch(`${base}/queues`);
    expect(queues.status).toBe(200);
    expect(await queues.text()).toContain('Depesche queues');
    const queueApi = (await (await fetch(`${base}/queues/api/queues`)).json()) as { queues: { name: string }[] };
    expect(queueApi.queues.map((q) => q.name).sort()).toEqual(['campaign-batch', 'campaign-fanout']);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const archive = await fetch(`http://127.0.0.1:${port + 1}/archive`);
    expect(archive.status).toBe(200);
  });

  it('delivers a sample send from the ops API into the inbox, one mail per reader in their language', async () => {
    const lists = (await (await fetch(`${base}/api/lists`)).json()) as { lists: { name: string; activeByLang: Record<string, number> }[] };
    const sample = lists.lists.find((l) => l.name === 'sample');
    expect(sample?.activeByLang).toEqual({ de: 3, en: 3 });

    const issues = (await (await fetch(`${base}/api/issues`)).json()) as { issues?: { slug: string; template?: string }[] } | { slug: string }[];
    const list = Array.isArray(issues) ? issues : (issues.issues ?? []);
    expect(list.length).toBeGreaterThan(0);
    const slug = list[0]!.slug;

    const created = await fetch(`${base}/api/campaigns`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ slug, list: 'sample' }),
    });
    const campaign = (await created.json()) as { id: string; total: number };
    expect(created.status, JSON.stringify(campaign)).toBe(201);
    expect(campaign.total).toBe(6);

    const mails = await waitFor(
      'six mails in the dev inbox',
      async () => {
        const { mails } = (await (await fetch(`${base}/api/inbox`)).json()) as { mails: { id: string; to: string; contentLanguage: string | null }[] };
        return mails.length >= 6 ? mails : undefined;
      },
      60_000,
      dev.output,
    );
    expect(mails).toHaveLength(6);
    expect(new Set(mails.map((m) => m.to)).size).toBe(6);
    expect(mails.filter((m) => m.contentLanguage === 'de')).toHaveLength(3);
    expect(mails.filter((m) => m.contentLanguage === 'en')).toHaveLength(3);

    const detail = (await (await fetch(`${base}/api/inbox/${mails[0]!.id}`)).json()) as { checks: { name: string; status: string }[]; envelope: { from: string } };
    // Each mail has its own return path, which the dev stack's inbound listener reads.
    expect(detail.envelope.from).toMatch(/^b-[a-z2-7]+@return\.example\.org$/);
    const checks = Object.fromEntries(detail.checks.map((c) => [c.name, c.status]));
    expect(checks).toMatchObject({ 'List-Unsubscribe-Post': 'pass', 'List-Id': 'pass', 'List-Unsubscribe mailto': 'pass', 'multipart/alternative': 'pass' });
    // PUBLIC_URL is http in dev: the inbox flags it rather than failing it.
    expect(checks['List-Unsubscribe URL']).toBe('warn');

    const status = await waitFor(
      'the campaign to finish',
      async () => {
        const s = (await (await fetch(`${base}/api/campaigns/${campaign.id}`)).json()) as { state: string; sent: number };
        return s.state === 'done' ? s : undefined;
      },
      30_000,
      dev.output,
    );
    expect(status.sent).toBe(6);

    // The loop closes in the public app: one click on a mail's List-Unsubscribe URL, as Gmail sends it.
    const raw = await (await fetch(`${base}/inbox/${mails[0]!.id}/raw`)).text();
    const unfolded = raw.replace(/\r?\n[ \t]+/g, ' ');
    const unsubscribeUrl = /^List-Unsubscribe: .*?<(http[^>]+)>/m.exec(unfolded)?.[1];
    expect(unsubscribeUrl).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${port + 1}/unsubscribe/`));
    const oneClick = await fetch(unsubscribeUrl!, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'List-Unsubscribe=One-Click',
    });
    expect(oneClick.status).toBe(200);
    const after = (await (await fetch(`${base}/api/lists`)).json()) as { lists: { name: string; activeByLang: Record<string, number> }[] };
    const active = after.lists.find((l) => l.name === 'sample')!.activeByLang;
    expect((active.de ?? 0) + (active.en ?? 0)).toBe(5);

    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^depesche_deliveries_total\{result="sent"\} 6$/m);
    // The worker flushes its SMTP timings to Redis every few seconds.
    await waitFor(
      'SMTP latency of six sends in /metrics',
      async () => (/^depesche_smtp_send_duration_seconds_count\{result="accepted"\} 6$/m.test(await (await fetch(`${base}/metrics`)).text()) ? true : undefined),
      15_000,
      dev.output,
    );
  });

  it('stops everything, its redis-server included, on SIGTERM', async () => {
    const pid = Number(readFileSync(join(cwd, '.depesche/redis/redis.pid'), 'utf8'));
    expect(pidAlive(pid)).toBe(true);
    dev.child.kill('SIGTERM');
    const code = await Promise.race([dev.exited, new Promise((r) => setTimeout(() => r('timeout'), 20_000))]);
    expect(code, dev.output()).toBe(0);
    await waitFor('redis-server to exit', () => (pidAlive(pid) ? undefined : true), 10_000, dev.output);
    expect(existsSync(join(cwd, '.depesche/redis/redis.pid'))).toBe(false);
    expect(existsSync(join(cwd, '.depesche/dev.pid'))).toBe(false);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });

  it('starts again on the same ports with the inbox kept, and a CLI in its folder finds its Redis', async () => {
    const before = readFileSync(join(cwd, '.depesche/dev.env'), 'utf8');
    dev = run(['dev', '--port', String(port)], cwd, cleanEnv());
    await waitFor('the dev banner', () => (dev.output().includes('Depesche dev is running') ? true : dev.child.exitCode !== null ? Promise.reject(new Error(dev.output())) : undefined), 60_000, dev.output);
    const setting = (text: string, key: string) => new RegExp(`^${key}=(.*)$`, 'm').exec(text)?.[1];
    const after = readFileSync(join(cwd, '.depesche/dev.env'), 'utf8');
    for (const key of ['REDIS_URL', 'SMTP_URL', 'PUBLIC_URL', 'DEPESCHE_SECRET']) expect([key, setting(after, key)]).toEqual([key, setting(before, key)]);
    const { mails } = (await (await fetch(`${base}/api/inbox`)).json()) as { mails: unknown[] };
    expect(mails).toHaveLength(6);

    // No REDIS_URL in this shell: the CLI finds the dev stack by itself and says so.
    const cli = run(['subscribers', 'lists'], cwd, cleanEnv());
    expect(await cli.exited).toBe(0);
    expect(cli.output()).toContain(`using the Redis of the depesche dev running here (pid ${dev.child.pid}): ${setting(after, 'REDIS_URL')}`);
    // Five: the reader who used one-click unsubscribe above left the list.
    expect(cli.output()).toMatch(/^sample\s+private\s+5\s/m);
  });
});

describe('depesche dev without Redis anywhere', () => {
  it('says how to get Redis, and exits 1', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'depesche-dev-'));
    try {
      const port = await freePort();
      // No redis-server on this PATH; node itself is started by absolute path.
      const dev = run(['dev', '--port', String(port)], cwd, cleanEnv({ PATH: '/nonexistent' }));
      const code = await dev.exited;
      expect(code).toBe(1);
      expect(dev.output()).toContain('no `redis-server` on PATH');
      expect(dev.output()).toContain('apt-get install redis-server');
      expect(dev.output()).toContain('brew install redis');
      expect(dev.output()).toContain('docker compose up -d redis');
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

describe('depesche dev with a bad setting', () => {
  it('names it and starts nothing', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'depesche-dev-'));
    try {
      const port = await freePort();
      const dev = run(['dev', '--port', String(port)], cwd, cleanEnv({ LOG_LEVEL: 'loud', DEPESCHE_SECRET: 'short' }));
      expect(await dev.exited).toBe(1);
      expect(dev.output()).toMatch(/LOG_LEVEL: /);
      expect(dev.output()).toMatch(/DEPESCHE_SECRET: must be at least 32 characters/);
      // Validation came first: no private Redis was started.
      expect(existsSync(join(cwd, '.depesche/redis'))).toBe(false);
    } finally {
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});
