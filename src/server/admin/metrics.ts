import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';

/** What /metrics reads at scrape time; each source is optional so a partial setup still reports. */
export interface MetricsSources {
  /** Job counts per queue and state, e.g. BullMQ `queue.getJobCounts()`. */
  queues?: () => Promise<{ queue: string; counts: Record<string, number> }[]>;
  /**
   * Delivery totals summed over all campaigns (sent, failed, bounced, skipped, unclear, …),
   * from the ledger's counters. They only grow, so Prometheus can take `rate()` of them.
   */
  deliveries?: () => Promise<Record<string, number>>;
  /** What came back, by kind (hard and soft bounce, rejection, complaint, unsubscribe) and where it was read (inbound/counts.ts). */
  returns?: () => Promise<{ kind: string; source: string; count: number }[]>;
  /** Extra exposition text appended as is: the SMTP latency histogram from Redis (smtp-latency.ts). */
  smtpLatency?: () => Promise<string>;
}

export interface Metrics {
  registry: Registry;
  readonly contentType: string;
  /** The whole exposition: the registry's metrics, then the SMTP latency histogram. */
  render(): Promise<string>;
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

  new Counter({
    name: 'depesche_returns_total',
    help: 'Bounces, policy rejections, complaints and mailto unsubscribes by kind, and where they were read: send (the SMTP answer) or the return path (smtp, imap, ses, postmark, mailgun).',
    labelNames: ['kind', 'source'],
    registers: [registry],
    async collect() {
      this.reset();
      const read = sources.returns;
      if (!read) return;
      await guarded('returns', async () => {
        for (const { kind, source, count } of await read()) if (count > 0) this.inc({ kind, source }, count);
      });
    },
  });

  new Gauge({
    name: 'depesche_metrics_source_up',
    help: 'Whether this scrape could read a source (1) or not (0): queues, deliveries, returns, smtp-latency.',
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
    contentType: registry.contentType,
    async render() {
      // Read first, so depesche_metrics_source_up in the registry's text already knows.
      let extra = '';
      const read = sources.smtpLatency;
      if (read) {
        await guarded('smtp-latency', async () => {
          extra = await read();
        });
      }
      return `${await registry.metrics()}${extra}`;
    },
    setSources(next) {
      sources = next;
    },
  };
}
