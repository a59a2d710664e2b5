import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './ports.ts';

/**
 * A private redis-server for one test file, on a free port, with AOF on so a test can
 * kill it and restart it without losing what it acknowledged.
 */
export interface TestRedis {
  port: number;
  url: string;
  dir: string;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** Start again on the same port and data folder; resolves when it answers PING. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  /** A connection for the test itself (made on first use, closed by `stop`). */
  client(): Redis;
}

export interface StartRedisOptions {
  /** Extra redis-server arguments; later ones win, e.g. `['--maxmemory-policy', 'allkeys-lru']`. */
  args?: string[];
}

async function waitForPing(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => {});
    try {
      await client.connect();
      // A restarted server answers LOADING while it replays the AOF.
      if ((await client.ping()) === 'PONG') return;
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not come up`);
      await new Promise((r) => setTimeout(r, 50));
    } finally {
      client.disconnect();
    }
  }
}

export async function startRedis(options: StartRedisOptions = {}): Promise<TestRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'depesche-redis-'));
  let child: ChildProcess | undefined;

  const launch = async () => {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always',
        '--save', '', '--maxmemory-policy', 'noeviction', '--daemonize', 'no', '--logfile', '', ...(options.args ?? [])],
      { stdio: 'ignore' },
    );
    child.on('error', (error) => {
      throw new Error(`cannot start redis-server (is it installed?): ${error.message}`);
    });
    await waitForPing(port);
  };

  const kill = async () => {
    const running = child;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
  };

  await launch();
  let client: Redis | undefined;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    kill,
    restart: launch,
    client() {
      client ??= new Redis({ port, host: '127.0.0.1' });
      return client;
    },
    async stop() {
      client?.disconnect();
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
