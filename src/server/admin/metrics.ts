import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Transport } from '../../transport/types.ts';

/** What /metrics reads at scrape time; each source is optional so a partial setup still reports. */
export interface MetricsSources {
  /** Job counts per queue and state, e.g. BullMQ `queue.getJobCounts()`. */
  queues?: () => Promise<{ queue: string; counts: Record<string, number> }[]>;
  /**
   * Delivery totals summed over all campaigns (sent, failed, bounced, skipped, unclear, …),
   * from the ledger's counters. They only grow, so Prometheus can take `rate()` of them.
   */
  deliveries?: () => Promise<Record<string, number>>;
}

export interface Metrics {
  registry: Registry;
  /** SMTP transaction time, observed around every `sendMail` of an instrumented transport. */
  smtpLatency: Histogram<'result'>;
  /** Wraps a Transport so each send is timed and counted; the wrapped one behaves the same. */
  instrumentTransport(transport: Transport): Transport;
  /** Sets what scrapes read, for when the sources exist only after the metrics (dev wiring). */
  setSources(sources: MetricsSources): void;
}

/**
 * One registry per app, not prom-client's global one, so tests and the dev process can
 * hold several apps without metric-name clashes.
 */
export function createMetrics(initial: MetricsSources = {}): Metrics {
  let sources = initial;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'depesche_' });

  // A scrape must answer even when Redis does not; depesche_metrics_source_up says which
  // figures are missing.
  // prom-client collects all metrics concurrently, so that gauge waits for the reads.
  const up = new Map<string, number>();
  const pending = new Map<string, Promise<void>>();
  const guarded = (source: string, read: () => Promise<void>): Promise<void> => {
    const done = read().then(
      () => void up.set(source, 1),
      () => void up.set(source, 0),
    );
    pending.set(source, done);
    return done;
  };

  new Gauge({
    name: 'depesche_queue_jobs',
    help: 'BullMQ jobs per queue and state (waiting, active, delayed, failed, …); queue depth is waiting + delayed.',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      const read = sources.queues;
      if (!read) return;
      await guarded('queues', async () => {
        for (const { queue, counts } of await read()) {
          for (const [state, value] of Object.entries(counts)) this.set({ queue, state }, value);
        }
      });
    },
  });

  new Counter({
    name: 'depesche_deliveries_total',
    help: 'Recipients by delivery result over all campaigns, from the delivery ledger; rate() gives sent/failed per second.',
    labelNames: ['result'],
    registers: [registry],
    async collect() {
      this.reset();
      const read = sources.deliveries;
      if (!read) return;
      await guarded('deliveries', async () => {
        for (const [result, value] of Object.entries(await read())) {
          if (Number.isFinite(value) && value > 0) this.inc({ result }, value);
        }
      });
    },
  });

  const smtpLatency = new Histogram({
    name: 'depesche_smtp_send_duration_seconds',
    help: 'Time from handing a message to SMTP until the server answered, per message.',
    labelNames: ['result'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  new Gauge({
    name: 'depesche_metrics_source_up',
    help: 'Whether this scrape could read a source (1) or not (0): queues, deliveries.',
    labelNames: ['source'],
    registers: [registry],
    async collect() {
      await Promise.all(pending.values());
      this.reset();
      for (const [source, value] of up) this.set({ source }, value);
    },
  });

  return {
    registry,
    smtpLatency,
    setSources(next) {
      sources = next;
    },
    instrumentTransport(transport) {
      return {
        async sendMail(message) {
          const end = smtpLatency.startTimer();
          try {
            const info = await transport.sendMail(message);
            end({ result: 'accepted' });
            return info;
          } catch (error) {
            const code = (error as { responseCode?: number }).responseCode;
            end({ result: code ? `${Math.floor(code / 100)}xx` : 'connection' });
            throw error;
          }
        },
        close: () => transport.close(),
      };
    },
  };
}
