import type { Redis } from 'ioredis';
import type { Keyspace } from '../config/redis.ts';

/**
 * SMTP latency across every process that sends: workers time each `sendMail`, add it to
 * a histogram in memory, and flush the bucket counts to one Redis hash every few seconds.
 * Any admin app then serves the sum as one Prometheus histogram, however many workers run
 * on however many machines. Counters only grow, as Prometheus expects of a histogram.
 */

/** Upper bounds in seconds; a local SMTP relay answers in milliseconds, a remote one in tenths. */
export const SMTP_LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

export const SMTP_LATENCY_METRIC = 'depesche_smtp_send_duration_seconds';

/** `accepted`, or how it failed: `4xx`, `5xx`, or `connection` when the server never answered. */
export type SmtpResult = 'accepted' | '4xx' | '5xx' | 'connection';

interface Sendable {
  sendMail(message: never): Promise<unknown>;
  close(): Promise<void>;
}

export interface SmtpLatencyRecorder {
  observe(seconds: number, result: SmtpResult): void;
  /** The same transport, with each send timed; errors pass through untouched. */
  instrument<T extends Sendable>(transport: T): T;
  /** Writes what is buffered; runs on a timer and on close. */
  flush(): Promise<void>;
  /** Final flush; stops the timer. Does not close the Redis connection. */
  close(): Promise<void>;
}

export function smtpLatencyKey(keys: Keyspace): string {
  return keys.key('metrics', 'smtp-latency');
}

function resultOf(error: unknown): SmtpResult {
  const code = (error as { responseCode?: number } | null)?.responseCode;
  if (typeof code === 'number' && code >= 400 && code < 600) return code < 500 ? '4xx' : '5xx';
  return 'connection';
}

export function createSmtpLatencyRecorder(redis: Redis, keys: Keyspace, options: { flushMs?: number } = {}): SmtpLatencyRecorder {
  const key = smtpLatencyKey(keys);
  // Field `<result>|<le>` holds the cumulative bucket count, `<result>|sum` the seconds.
  let counts = new Map<string, number>();
  let sums = new Map<string, number>();
  let flushing: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (counts.size === 0 && sums.size === 0) return flushing;
    const [c, s] = [counts, sums];
    counts = new Map();
    sums = new Map();
    const pipeline = redis.pipeline();
    for (const [field, n] of c) pipeline.hincrby(key, field, n);
    for (const [field, seconds] of s) pipeline.hincrbyfloat(key, field, seconds);
    flushing = flushing.then(() =>
      pipeline.exec().then(
        () => undefined,
        () => {
          // Redis away: keep the figures for the next flush rather than lose them.
          for (const [field, n] of c) counts.set(field, (counts.get(field) ?? 0) + n);
          for (const [field, seconds] of s) sums.set(field, (sums.get(field) ?? 0) + seconds);
        },
      ),
    );
    return flushing;
  };
  const timer = setInterval(() => void flush(), options.flushMs ?? 5_000);
  timer.unref();

  const observe = (seconds: number, result: SmtpResult) => {
    for (const le of SMTP_LATENCY_BUCKETS) {
      if (seconds <= le) {
        const field = `${result}|${le}`;
        counts.set(field, (counts.get(field) ?? 0) + 1);
      }
    }
    const inf = `${result}|+Inf`;
    counts.set(inf, (counts.get(inf) ?? 0) + 1);
    const sum = `${result}|sum`;
    sums.set(sum, (sums.get(sum) ?? 0) + seconds);
  };

  return {
    observe,
    instrument<T extends Sendable>(transport: T): T {
      // The original is the prototype, so anything else it offers still works as before.
      return Object.assign(Object.create(transport) as T, {
        async sendMail(message: never) {
          const started = performance.now();
          try {
            const info = await transport.sendMail(message);
            observe((performance.now() - started) / 1000, 'accepted');
            return info;
          } catch (error) {
            observe((performance.now() - started) / 1000, resultOf(error));
            throw error;
          }
        },
        close: () => transport.close(),
      });
    },
    flush,
    async close() {
      clearInterval(timer);
      // A connection that retries forever (BullMQ style) must not hold up a shutdown.
      await Promise.race([flush(), new Promise<void>((resolve) => setTimeout(resolve, 2_000).unref())]);
    },
  };
}

function formatLe(le: string): string {
  return le === '+Inf' ? '+Inf' : String(Number(le));
}

/** The histogram in Prometheus text format, summed over every process that recorded. */
export async function readSmtpLatency(redis: Redis, keys: Keyspace): Promise<string> {
  const fields = await redis.hgetall(smtpLatencyKey(keys));
  const results = [...new Set(Object.keys(fields).map((f) => f.split('|')[0]!))].sort();
  const lines = [
    `# HELP ${SMTP_LATENCY_METRIC} Time from handing a message to SMTP until the server answered, per message, over all workers.`,
    `# TYPE ${SMTP_LATENCY_METRIC} histogram`,
  ];
  for (const result of results) {
    for (const le of [...SMTP_LATENCY_BUCKETS.map(String), '+Inf']) {
      lines.push(`${SMTP_LATENCY_METRIC}_bucket{le="${formatLe(le)}",result="${result}"} ${Number(fields[`${result}|${le}`] ?? 0)}`);
    }
    lines.push(`${SMTP_LATENCY_METRIC}_sum{result="${result}"} ${Number(fields[`${result}|sum`] ?? 0)}`);
    lines.push(`${SMTP_LATENCY_METRIC}_count{result="${result}"} ${Number(fields[`${result}|+Inf`] ?? 0)}`);
  }
  return `${lines.join('\n')}\n`;
}
