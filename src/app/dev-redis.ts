import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { DepescheError } from '../errors.ts';

/**
 * Redis for `depesche dev`: the one in REDIS_URL when set, or else a private
 * `redis-server` child on a free loopback port with its data under `.depesche/redis/`,
 * configured like production (AOF, noeviction) so dev behaves the same.
 */
export interface DevRedis {
  url: string;
  /** True when this process started redis-server and will stop it. */
  owned: boolean;
  /** Where the private server keeps its data; undefined for an external Redis. */
  dir: string | undefined;
  stop(): Promise<void>;
}

export interface DevRedisOptions {
  /** From the environment; when set nothing is started. */
  redisUrl?: string | undefined;
  /** Defaults to `.depesche/redis` in the working directory. */
  dataDir?: string;
  /** Defaults to `redis-server` on PATH. */
  command?: string;
  /** The port of the last run, kept when it is still free so shells that sourced dev.env keep working. */
  preferredPort?: number | undefined;
}

export const NO_REDIS_HINT =
  'Install Redis and run again: `sudo apt-get install redis-server` (Debian/Ubuntu), `brew install redis` (macOS), ' +
  'or start one with `docker compose up -d redis` and set REDIS_URL=redis://127.0.0.1:6379.';

/** A port the OS hands out on loopback, or `preferred` when it is free. */
export async function freeLoopbackPort(preferred?: number): Promise<number> {
  if (preferred) {
    try {
      return await listenOnce(preferred);
    } catch {
      // taken: any free port will do
    }
  }
  return listenOnce(0);
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no free port'))));
    });
  });
}

async function waitForPing(url: string, child: ChildProcess, output: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      throw new DepescheError('E_REDIS', `redis-server exited with code ${child.exitCode} before it answered.`, {
        hint: `Its output:\n${output().trim() || '(none)'}`,
      });
    }
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      // While it replays the AOF it answers LOADING; that is an error here, so we retry.
      if ((await client.ping()) === 'PONG') return;
    } catch {
      if (Date.now() > deadline) {
        throw new DepescheError('E_REDIS', `redis-server did not answer on ${url} within ${timeoutMs / 1000} s.`, {
          hint: `Its output:\n${output().trim() || '(none)'}`,
        });
      }
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.disconnect();
    }
  }
}

/**
 * A `depesche dev` that was SIGKILLed leaves its redis-server running on the same data
 * folder; two servers appending to one AOF would corrupt it, so the stale one goes first.
 */
async function stopStale(pidFile: string): Promise<void> {
  let pid: number;
  try {
    pid = Number(readFileSync(pidFile, 'utf8').trim());
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 1) return;
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('redis-server')) return;
  } catch {
    // No /proc (macOS) or no such process: trust the pid file only if the process exists.
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  for (let i = 0; i < 100; i++) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function startDevRedis(options: DevRedisOptions = {}): Promise<DevRedis> {
  if (options.redisUrl) {
    return { url: options.redisUrl, owned: false, dir: undefined, stop: async () => {} };
  }
  const dir = resolve(options.dataDir ?? '.depesche/redis');
  mkdirSync(dir, { recursive: true });
  const pidFile = join(dir, 'redis.pid');
  await stopStale(pidFile);
  const port = await freeLoopbackPort(options.preferredPort);
  const url = `redis://127.0.0.1:${port}`;
  const command = options.command ?? 'redis-server';
  let output = '';

  const child = spawn(
    command,
    [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--dir', dir,
      '--appendonly', 'yes',
      '--maxmemory-policy', 'noeviction',
      // No RDB snapshots next to the AOF; one persistence mode is enough for dev.
      '--save', '',
      '--daemonize', 'no',
      '--protected-mode', 'yes',
      '--logfile', '',
    ],
    // Its own process group, so a terminal's Ctrl-C reaches only us: we stop the worker
    // first and Redis last, instead of the worker losing Redis mid-batch.
    { stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  const spawned = await new Promise<Error | null>((resolveSpawn) => {
    child.once('spawn', () => resolveSpawn(null));
    child.once('error', (error) => resolveSpawn(error));
  });
  if (spawned) {
    const missing = (spawned as NodeJS.ErrnoException).code === 'ENOENT';
    throw new DepescheError(
      'E_REDIS',
      missing
        ? 'No REDIS_URL is set and there is no `redis-server` on PATH to start a private one.'
        : `Cannot start redis-server: ${spawned.message}`,
      { hint: NO_REDIS_HINT, cause: spawned },
    );
  }

  writeFileSync(pidFile, String(child.pid));
  // Last resort when we exit without stop(): a detached child would outlive us.
  const onExit = () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  process.once('exit', onExit);

  const stop = async () => {
    process.off('exit', onExit);
    rmSync(pidFile, { force: true });
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((done) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => {
        clearTimeout(timer);
        done();
      });
      // SIGTERM makes redis-server flush the AOF and exit cleanly.
      child.kill('SIGTERM');
    });
  };

  try {
    await waitForPing(url, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, owned: true, dir, stop };
}
