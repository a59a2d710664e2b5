import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/ports.ts';
import { startRedis, type TestRedis } from './support/redis.ts';
import { startSmtp, type TestSmtp } from './support/smtp.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
const node = join(repo, 'node_modules/.bin/node');
const bin = join(repo, 'bin/depesche.js');
const TOKEN = 'serve-test-admin-token-42';

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(REDIS_URL|SMTP_URL|PUBLIC_URL|DEPESCHE_|ADMIN_|PORT|HOST|MAIL_FROM|CONTENT_DIR|LOG_LEVEL)/.test(key)) env[key] = value;
  }
  return { ...env, CONTENT_DIR: repo, ...extra };
}

function run(args: string[], env: NodeJS.ProcessEnv) {
  const child = spawn(node, [bin, ...args], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => output, exited };
}

describe('depesche serve', () => {
  it('refuses a public admin bind without ADMIN_TOKEN, saying why, before touching Redis', async () => {
    const serve = run(['serve', '--admin-host', '0.0.0.0', '--port', '0', '--admin-port', '0'], baseEnv({ REDIS_URL: 'redis://127.0.0.1:1' }));
    expect(await serve.exited).toBe(1);
    expect(serve.output()).toContain('0.0.0.0');
    expect(serve.output()).toContain('ADMIN_TOKEN is not set');
    expect(serve.output()).toContain('--admin-host');
  });

  it('names a bad setting and exits 1', async () => {
    const serve = run(['serve'], baseEnv({ ADMIN_PORT: 'seventy', SMTP_URL: 'http://nope' }));
    expect(await serve.exited).toBe(1);
    expect(serve.output()).toMatch(/ADMIN_PORT: /);
    expect(serve.output()).toMatch(/SMTP_URL: must be a URL starting with smtp:\/\/ or smtps:\/\//);
  });

  describe('running with a token on a public bind', () => {
    let redis: TestRedis;
    let smtp: TestSmtp;
    let serve: ReturnType<typeof run>;
    let publicPort: number;
    let adminPort: number;

    beforeAll(async () => {
      [redis, smtp, publicPort, adminPort] = await Promise.all([startRedis(), startSmtp(), freePort(), freePort()]);
      serve = run(
        ['serve', '--port', String(publicPort), '--host', '127.0.0.1', '--admin-port', String(adminPort), '--admin-host', '0.0.0.0'],
        baseEnv({
          REDIS_URL: redis.url,
          SMTP_URL: smtp.url,
          DEPESCHE_SECRET: 'x'.repeat(40),
          ADMIN_TOKEN: TOKEN,
          PUBLIC_URL: `http://127.0.0.1:${publicPort}`,
          LOG_LEVEL: 'info',
        }),
      );
      const deadline = Date.now() + 60_000;
      while (!serve.output().includes('depesche serve listening')) {
        if (serve.child.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not start:\n${serve.output()}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }, 90_000);

    afterAll(async () => {
      if (serve?.child.exitCode === null) {
        serve.child.kill('SIGKILL');
        await serve.exited;
      }
      await Promise.all([redis?.stop(), smtp?.close()]);
    });

    it('logs JSON lines when stdout is not a terminal', () => {
      const line = serve.output().split('\n').find((l) => l.includes('depesche serve listening'))!;
      const entry = JSON.parse(line) as { level: number; msg: string; admin: string; adminToken: boolean };
      expect(entry.level).toBe(30);
      expect(entry.adminToken).toBe(true);
      expect(line).not.toContain(TOKEN);
    });

    it('serves the public app without a token and the admin app only with one', async () => {
      const admin = `http://127.0.0.1:${adminPort}`;
      expect((await fetch(`http://127.0.0.1:${publicPort}/healthz`)).status).toBe(200);
      // The archive's first request reads Redis under the public app's short command timeout
      // (it answers 503 with Retry-After rather than hang); on a starved CI machine that first
      // read can time out, so a 503 that says "retry" is asked again, twice at most.
      let archive = await fetch(`http://127.0.0.1:${publicPort}/archive`);
      for (let retry = 0; retry < 2 && archive.status === 503 && archive.headers.get('retry-after'); retry++) {
        await new Promise((r) => setTimeout(r, 500));
        archive = await fetch(`http://127.0.0.1:${publicPort}/archive`);
      }
      expect(archive.status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${publicPort}/subscribe?lang=en`)).status).toBe(200);
      expect((await fetch(`${admin}/healthz`)).status).toBe(200);
      expect((await fetch(`${admin}/api/campaigns`)).status).toBe(401);
      expect((await fetch(`${admin}/queues`)).status).toBe(401);
      expect((await fetch(`${admin}/api/campaigns`, { headers: { authorization: 'Bearer wrong-wrong-wrong-wrong' } })).status).toBe(401);
      const ok = await fetch(`${admin}/api/campaigns`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      expect(await ok.json()).toEqual({ campaigns: [] });
      const metrics = await fetch(`${admin}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(await metrics.text()).toMatch(/^depesche_queue_jobs\{queue="campaign-batch",state="waiting"\} 0$/m);
    });

    it('shuts down on SIGTERM with exit code 0', async () => {
      serve.child.kill('SIGTERM');
      const code = await Promise.race([serve.exited, new Promise((r) => setTimeout(() => r('timeout'), 15_000))]);
      expect(code, serve.output()).toBe(0);
    });
  });
});
