import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findDevStack, useRunningDevStack, writeDevEnv } from '../src/config/dev-env.ts';
import { keyspace } from '../src/config/redis.ts';
import { RedisSubscriberStore } from '../src/subscribers/redis-store.ts';
import { startRedis, type TestRedis } from './support/redis.ts';

const repo = fileURLToPath(new URL('../', import.meta.url));
const bin = join(repo, 'bin/depesche.js');
const registry = new URL('../src/cli/registry.ts', import.meta.url).href;

/** Names the packages a process resolved, on stderr, as bench/cli.ts does. */
const TRACE = `data:text/javascript,${encodeURIComponent(
  "import { registerHooks } from 'node:module'; const seen = new Set(); " +
    "registerHooks({ resolve(s, c, next) { const r = next(s, c); const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url); if (m) seen.add(m[1]); return r; } }); " +
    "process.on('exit', () => process.stderr.write('@@packages ' + JSON.stringify([...seen].sort()) + '\\n'));",
)}`;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; onSpawn?: (child: ChildProcess) => void } = {}): Promise<Result> {
  return new Promise((resolve, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, REDIS_URL: 'redis://127.0.0.1:1', DEPESCHE_CONFIG: '', ...options.env };
    for (const [key, value] of Object.entries(env)) if (value === undefined) delete env[key];
    const child = spawn(process.execPath, args, { cwd: options.cwd ?? repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (c: Buffer) => (stdout += c));
    child.stderr!.on('data', (c: Buffer) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    options.onSpawn?.(child);
  });
}

const packagesOf = (stderr: string) => JSON.parse(/^@@packages (.*)$/m.exec(stderr)?.[1] ?? 'null') as string[];

describe('depesche on the command line', () => {
  it('prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { version: string };
    expect(await run([bin, '--version'])).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('runs through npx without npm engine warnings, also on its first run in a checkout', async () => {
    // A fresh npm cache: npx then links this package into its cache, the step that checked
    // the old `engines` field against the Node running npm (not the Node 24 the CLI runs on).
    const cache = mkdtempSync(join(tmpdir(), 'depesche-npm-cache-'));
    try {
      const npx = await new Promise<Result>((resolve, reject) => {
        // npm on the machine's own Node, as a shell runs it: not the Node 24 under node_modules/.bin.
        const PATH = (process.env.PATH ?? '').split(':').filter((dir) => !dir.includes('node_modules')).join(':');
        const env = { ...process.env, PATH, npm_config_cache: cache, npm_config_offline: 'true', npm_config_update_notifier: 'false' };
        const child = spawn('npx', ['depesche', '--version'], { cwd: repo, env });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c));
        child.stderr.on('data', (c: Buffer) => (stderr += c));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      });
      expect(npx.stderr).not.toContain('EBADENGINE');
      expect(npx).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) });
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('answers every bad flag value with a usage error that names the flag, never a stack trace', async () => {
    const cases: [string[], RegExp][] = [
      [['send', 'x', '--list', 'l', '--rate', 'abc'], /option '--rate <msgs\/s>' argument 'abc' is invalid\. It must be a whole number\./],
      [['send', 'x', '--list', 'l', '--rate', '0'], /option '--rate <msgs\/s>' argument '0' is invalid\. It must be a whole number above 0\./],
      [['dev', '--port', 'abc'], /option '-p, --port <port>' argument 'abc' is invalid/],
      [['serve', '--admin-port', '70000'], /option '--admin-port <port>' argument '70000' is invalid\. It must be a port number from 0 to 65535 \(0: any free port\)\./],
      [['subscribers', 'export', '--list', 'l', '--status', 'gone'], /option '--status <statuses>' argument 'gone' is invalid\. "gone" is not a status/],
      [['subscribers', 'import', 'x.csv', '--list', 'l', '--default-lang', 'fr'], /option '--default-lang <lang>' argument 'fr' is invalid\. Allowed choices are de, en\./],
    ];
    const results = await Promise.all(cases.map(([args]) => run([bin, ...args])));
    results.forEach((result, i) => {
      expect(result.code, cases[i]![0].join(' ')).toBe(1);
      expect(result.stderr).toMatch(cases[i]![1]);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    });
  });

  it('loads nothing but commander for --help, and per command only what it needs', async () => {
    const help = await run(['--import', TRACE, bin, '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('subscribers');
    expect(packagesOf(help.stderr)).toEqual(['commander']);
    const sendHelp = await run(['--import', TRACE, bin, 'send', '--help']);
    expect(sendHelp.stdout).toContain('--rate <msgs/s>');
    expect(packagesOf(sendHelp.stderr)).toEqual(['commander']);

    const load = (path: string[]) =>
      run(['--import', TRACE, '--input-type=module', '-e', `const { COMMANDS } = await import(${JSON.stringify(registry)}); let spec = { commands: COMMANDS };
for (const name of ${JSON.stringify(path)}) spec = spec.commands.find((c) => c.name === name);
await spec.load();`]);
    const heavy = ['mjml', 'fastify', 'nodemailer', 'smtp-server', 'mailparser', '@jsx-email/doiuse-email', 'handlebars', 'markdown-it'];
    for (const command of ['status', 'pause', 'resume']) {
      const loaded = packagesOf((await load([command])).stderr);
      expect(loaded).toEqual(expect.arrayContaining(['bullmq', 'ioredis']));
      expect(loaded.filter((p) => heavy.includes(p))).toEqual([]);
    }
    // build and lint load MJML (and lint's caniemail data) only when they compile.
    const build = packagesOf((await load(['build'])).stderr);
    expect(build).toContain('handlebars');
    expect(build.filter((p) => p === 'mjml' || p === '@jsx-email/doiuse-email' || p === 'ioredis')).toEqual([]);
  });

  it('exits quietly when the reader of its output goes away (EPIPE)', async () => {
    const redis: TestRedis = await startRedis();
    try {
      const client = new Redis(redis.url);
      const store = new RedisSubscriberStore(client, keyspace('epipe'));
      await store.upsertMany(Array.from({ length: 5000 }, (_, i) => ({ email: `r${i}@example.org`, name: `Reader with a longer name ${i}` })), 'big', { defaultStatus: 'active' });
      client.disconnect();
      // As `depesche subscribers export --list big | head -1`: the pipe closes after the first bytes.
      const result = await run([bin, 'subscribers', 'export', '--list', 'big'], {
        env: { REDIS_URL: redis.url, DEPESCHE_PREFIX: 'epipe' },
        onSpawn: (child) => child.stdout!.once('data', () => child.stdout!.destroy()),
      });
      expect(result.stderr).not.toMatch(/EPIPE|\n\s+at /);
      expect(result.code).toBe(0);
    } finally {
      await redis.stop();
    }
  });
});

describe('a CLI inside the folder where depesche dev runs', () => {
  let dir: string;
  let fakeDev: ChildProcess;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'depesche-devenv-'));
    // Stands in for a running `depesche dev`: a live process whose command line names depesche.
    fakeDev = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)', 'depesche', 'dev'], { stdio: 'ignore' });
    mkdirSync(join(dir, '.depesche'));
  });
  afterAll(() => {
    fakeDev.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('takes its settings while it runs, says so in one line, and leaves settings named in the environment alone', () => {
    writeDevEnv(join(dir, '.depesche'), { REDIS_URL: 'redis://127.0.0.1:6390', SMTP_URL: 'smtp://127.0.0.1:2525', DEPESCHE_SECRET: 's'.repeat(64) }, fakeDev.pid);
    const env: NodeJS.ProcessEnv = { SMTP_URL: 'smtp://mine:25' };
    const line = useRunningDevStack(join(dir, 'issues'), env);
    expect(line).toBe(`using the Redis of the depesche dev running here (pid ${fakeDev.pid}): redis://127.0.0.1:6390, settings from ../.depesche/dev.env`);
    expect(env).toEqual({ REDIS_URL: 'redis://127.0.0.1:6390', SMTP_URL: 'smtp://mine:25', DEPESCHE_SECRET: 's'.repeat(64) });
    // REDIS_URL in the environment: the user chose a Redis, so nothing is taken.
    const chosen: NodeJS.ProcessEnv = { REDIS_URL: 'redis://10.0.0.1:6379' };
    expect(useRunningDevStack(dir, chosen)).toBeUndefined();
    expect(chosen).toEqual({ REDIS_URL: 'redis://10.0.0.1:6379' });
  });

  it('says so when dev has stopped, and uses nothing from it', () => {
    writeDevEnv(join(dir, '.depesche'), { REDIS_URL: 'redis://127.0.0.1:6390' }, 999_999_999);
    expect(findDevStack(dir)?.pid).toBeUndefined();
    const env: NodeJS.ProcessEnv = {};
    expect(useRunningDevStack(dir, env)).toMatch(/^note: .depesche\/dev.env is from a depesche dev that is not running/);
    expect(env).toEqual({});
    writeFileSync(join(dir, '.depesche', 'dev.pid'), String(process.pid));
    // A live pid that is not depesche (a reused pid after a crash) counts as stopped too.
    expect(findDevStack(dir)?.pid).toBe(readFileSync(`/proc/${process.pid}/cmdline`, 'utf8').includes('depesche') ? process.pid : undefined);
  });
});
