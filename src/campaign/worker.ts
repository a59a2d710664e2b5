import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis, keyspace } from '../config/redis.ts';
import type { Config } from '../config/schema.ts';
import { requireSecret } from '../config/load.ts';
import { createSmtpTransport } from '../transport/smtp.ts';
import { createBatchProcessor, InFlight } from './batch.ts';
import { CampaignRepository } from './campaigns.ts';
import { createFanoutProcessor } from './fanout.ts';
import { RedisLedger } from './ledger.ts';
import { BATCH_QUEUE, batchJobOptions, FANOUT_QUEUE } from './queues.ts';
import type { BatchJobData, BatchResult, CampaignSubscribers, CampaignTransport, FanoutJobData } from './types.ts';

export interface WorkerDeps {
  config: Config;
  subscribers: CampaignSubscribers;
  /** Defaults to pooled SMTP from SMTP_URL (and DKIM_* when set). */
  transport?: CampaignTransport & { close(): Promise<void> };
  /** Reports batch failures and shutdown; defaults to silence. */
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

export interface RunningWorker {
  /** Finishes the messages in flight, leaves the rest queued, and disconnects. */
  close(): Promise<void>;
}

/**
 * A campaign worker: fan-out and batch processors on BullMQ. Any number of these may run
 * in any number of processes against one Redis; the ledger and the rate limit live there.
 * Connections retry forever (`maxRetriesPerRequest: null`), so a Redis restart stalls
 * the worker rather than failing marks it has to write.
 */
export async function startWorker(deps: WorkerDeps): Promise<RunningWorker> {
  const { config } = deps;
  const keys = keyspace(config.DEPESCHE_PREFIX);
  const log = deps.log ?? (() => {});
  const connections: Redis[] = [];
  const connect = (): Redis => {
    const connection = createRedis(config, { maxRetriesPerRequest: null });
    connections.push(connection);
    return connection;
  };
  // Claims and marks of many messages in flight leave in one write per event-loop turn.
  const redis = createRedis(config, { maxRetriesPerRequest: null, enableAutoPipelining: true });
  connections.push(redis);
  redis.on('error', () => {});
  const campaigns = new CampaignRepository(redis, keys);
  const ledger = new RedisLedger(redis, keys);
  const transport = deps.transport ?? createSmtpTransport(config);
  const secret = requireSecret(config);
  let stopping = false;

  const batchQueue = new Queue<BatchJobData>(BATCH_QUEUE, { connection: connect(), prefix: keys.tag });
  batchQueue.on('error', () => {});

  const workerOptions = {
    prefix: keys.tag,
    lockDuration: config.JOB_LOCK_MS,
    stalledInterval: config.JOB_LOCK_MS,
    // A batch picked up again after a crash is safe (the ledger refuses a second send), so
    // never give up on a job because its worker died.
    maxStalledCount: 1_000_000,
  };

  const batchProcessor = createBatchProcessor({
    campaigns,
    ledger,
    subscribers: deps.subscribers,
    transport,
    // Twice the pool keeps every SMTP connection busy while bounding what a crash can
    // leave unclear.
    inFlight: new InFlight(config.SMTP_POOL_SIZE * 2),
    settings: {
      mailFrom: config.MAIL_FROM,
      publicUrl: config.PUBLIC_URL,
      secret,
      ...(config.LIST_ID_DOMAIN ? { listIdDomain: config.LIST_ID_DOMAIN } : {}),
      ...(config.UNSUBSCRIBE_MAILTO ? { unsubscribeMailto: config.UNSUBSCRIBE_MAILTO } : {}),
    },
    globalRate: config.SEND_RATE,
    pauseAfter: config.PAUSE_AFTER_CONNECTION_FAILURES,
    stopping: () => stopping,
  });
  const fanoutProcessor = createFanoutProcessor({
    campaigns,
    subscribers: deps.subscribers,
    batches: batchQueue,
    batchSize: config.BATCH_SIZE,
    batchJobOptions: batchJobOptions(config),
  });

  const batchWorker = new Worker<BatchJobData, BatchResult>(BATCH_QUEUE, batchProcessor, {
    ...workerOptions,
    connection: connect(),
    concurrency: config.WORKER_CONCURRENCY,
  });
  const fanoutWorker = new Worker<FanoutJobData>(FANOUT_QUEUE, fanoutProcessor, {
    ...workerOptions,
    connection: connect(),
    concurrency: 2,
  });
  for (const worker of [batchWorker, fanoutWorker]) {
    worker.on('error', (error) => log('warn', `worker: ${error.message}`));
    worker.on('failed', (job, error) => {
      log('warn', `job ${job?.id ?? '?'} failed (attempt ${job?.attemptsMade ?? '?'}): ${error.message}`);
      // A job out of attempts would leave its recipients unhandled and the campaign
      // unfinished without a word: pause it and say why; `resume` retries the job.
      if (job && job.attemptsMade >= (job.opts.attempts ?? 1)) {
        const what = job.name === 'batch' ? `Batch ${(job.data as BatchJobData).batchNo}` : 'The fan-out';
        const reason = `${what} failed after ${job.attemptsMade} attempts: ${error.message.replace(/[\r\n]+/g, ' ').slice(0, 300)}. Fix the cause, then resume.`;
        campaigns.transition(job.data.campaignId, ['sending', 'scheduled'], 'paused', reason).catch(() => {});
      }
    });
  }
  await Promise.all([batchWorker.waitUntilReady(), fanoutWorker.waitUntilReady()]);

  return {
    async close() {
      stopping = true;
      await Promise.all([batchWorker.close(), fanoutWorker.close()]);
      await batchQueue.close();
      await transport.close();
      // BullMQ leaves connections it was handed open.
      for (const connection of connections) connection.disconnect();
      log('info', 'worker stopped; unfinished batches stay queued');
    },
  };
}
