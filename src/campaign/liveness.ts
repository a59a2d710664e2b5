import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keyspace } from '../config/redis.ts';
import { sendKeys, type SendKeys } from './keys.ts';
import { campaignScripts, type Scripts } from './scripts.ts';

/**
 * A worker's heartbeat in Redis, for two readers: the ledger, which tells a claim whose
 * run is still alive (leave it) from one whose worker died (unclear), and ops, who are
 * told when no worker has been seen for a while. Beats every third of the ttl, so one
 * late beat never makes a live worker look dead.
 */
export class WorkerLiveness {
  readonly workerId = `w${randomBytes(4).toString('hex')}`;
  readonly #redis: Redis;
  readonly #send: SendKeys;
  readonly #scripts: Scripts;
  readonly #ttlMs: number;
  readonly #runs = new Set<string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(redis: Redis, keys: Keyspace, ttlMs: number) {
    this.#redis = redis;
    this.#send = sendKeys(keys);
    this.#scripts = campaignScripts(redis);
    this.#ttlMs = ttlMs;
  }

  #beat(runs: string[]): Promise<unknown> {
    return this.#scripts.run('heartbeat', [this.#send.workers, this.#send.workerInfo, this.#send.runs], [
      this.workerId, this.#ttlMs, `${hostname()} pid ${process.pid}`, ...runs,
    ]);
  }

  /** First beat, then one every ttl/3 until `stop`. Failures are reported, never thrown. */
  async start(onError: (error: unknown) => void): Promise<void> {
    await this.#beat([]);
    this.#timer = setInterval(() => void this.#beat([...this.#runs]).catch(onError), Math.max(100, Math.floor(this.#ttlMs / 3)));
    this.#timer.unref();
  }

  /** A batch attempt begins: its claims belong to a live run from now on. */
  async runStarted(run: string): Promise<void> {
    this.#runs.add(run);
    await this.#beat([run]);
  }

  /** The attempt is over: a claim of it still open later was never recorded. */
  async runEnded(run: string): Promise<void> {
    this.#runs.delete(run);
    await this.#redis.hdel(this.#send.runs, run);
  }

  /** Stops beating; the worker looks dead after the ttl unless it is said so now. */
  async stop(gone: boolean): Promise<void> {
    clearInterval(this.#timer);
    if (gone) await this.#redis.hdel(this.#send.workers, this.workerId);
  }
}

export interface WorkersSeen {
  /** Workers whose heartbeat has not run out. */
  alive: number;
  /** When the last worker's heartbeat ran out, if none is alive (ms since the epoch). */
  lastSeen: number | null;
}

/** Who is working, by the heartbeats in Redis (Redis' clock). */
export async function workersSeen(redis: Redis, keys: Keyspace): Promise<WorkersSeen> {
  const [expiries, time] = await Promise.all([redis.hvals(sendKeys(keys).workers), redis.time()]);
  const now = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
  const times = expiries.map(Number);
  const alive = times.filter((t) => t > now).length;
  return { alive, lastSeen: alive > 0 || times.length === 0 ? null : Math.max(...times) };
}
