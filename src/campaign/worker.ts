import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis, keyspace } from '../config/redis.ts';
import type { Config } from '../config/schema.ts';
import { requireSecret } from '../config/load.ts';
import { createCampaignTransport } from '../transport/campaign-transport.ts';
import type { Transport } from '../transport/types.ts';
import { createBatchProcessor, InFlight, type CampaignLog, type PendingMark } from './batch.ts';
import { CampaignRepository } from './campaigns.ts';
import { createFanoutProcessor } from './fanout.ts';
import { RedisLedger } from './ledger.ts';
import { pruneLedgers } from './retention.ts';
import { WorkerLiveness } from './liveness.ts';
import { describeFailure } from './outcome.ts';
import { BATCH_QUEUE, batchJobOptions, FANOUT_QUEUE } from './queues.ts';
import { CONTROL_QUEUE, createAutoResumeProcessor, SelfPause, type AutoResumeJob } from './self-pause.ts';
import { CampaignService } from './service.ts';
import { ReturnCounts } from '../inbound/counts.ts';
import { returnPathOver } from '../inbound/redis-sink.ts';
import type { BatchJobData, BatchResult, CampaignSubscribers, FanoutJobData } from './types.ts';

export interface WorkerDeps {
  config: Config;
  subscribers: CampaignSubscribers;
  /** Defaults to the campaign transport: our SMTP client on SMTP_URL (and DKIM_* when set). */
  transport?: Transport;
  /** Reports batch failures, pauses and shutdown; defaults to silence. */
  log?: CampaignLog;
}

export interface WorkerClosed {
  /** False when Redis did not answer within the time allowed. */
  clean: boolean;
  /** Answers known but not yet in the ledger when the worker gave up waiting. */
  unrecorded: PendingMark[];
}

export interface RunningWorker {
  /**
   * Finishes the messages in flight, leaves the rest queued, and disconnects. Waits at
   * most `timeoutMs` (SHUTDOWN_TIMEOUT_MS): a Redis that does not answer must not keep a
   * stopping worker alive for ever.
   */
  close(timeoutMs?: number): Promise<WorkerClosed>;
}

/**
 * BullMQ finds a crashed worker's job once its lock has run out and a stall check has
 * seen it twice; it renews locks at half their duration. A lock of ⅔ JOB_LOCK_MS checked
 * every ⅓ puts a batch back in the queue within about JOB_LOCK_MS of the crash (lock and
 * check interval both at JOB_LOCK_MS took up to twice that).
 */
export function lockTimings(jobLockMs: number): { lockDuration: number; stalledInterval: number } {
  return { lockDuration: Math.round((jobLockMs * 2) / 3), stalledInterval: Math.round(jobLockMs / 3) };
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
  const log: CampaignLog = deps.log ?? (() => {});
  const connections: Redis[] = [];
  const connect = (): Redis => {
    const connection = createRedis(config, { maxRetriesPerRequest: null });
    connection.on('error', (error) => log('warn', 'redis connection error', { err: error.message }));
    connections.push(connection);
    return connection;
  };
  const secret = requireSecret(config);
  // Claims and marks of many messages in flight leave in one write per event-loop turn.
  const redis = createRedis(config, { maxRetriesPerRequest: null, enableAutoPipelining: true });
  redis.on('error', (error) => log('warn', 'redis connection error', { err: error.message }));
  connections.push(redis);
  const campaigns = new CampaignRepository(redis, keys);
  const ledger = new RedisLedger(redis, keys);
  const liveness = new WorkerLiveness(redis, keys, config.JOB_LOCK_MS);
  const transport = deps.transport ?? createCampaignTransport(config);
  const pendingMarks = new Map<string, PendingMark>();
  let stopping = false;

  await liveness.start((error) => log('warn', 'heartbeat failed', { err: describeFailure(error) }));

  const batchQueue = new Queue<BatchJobData>(BATCH_QUEUE, { connection: connect(), prefix: keys.tag });
  batchQueue.on('error', (error) => log('warn', 'batch queue error', { err: error.message }));
  const controlQueue = new Queue<AutoResumeJob>(CONTROL_QUEUE, { connection: connect(), prefix: keys.tag });
  controlQueue.on('error', (error) => log('warn', 'control queue error', { err: error.message }));
  const selfPause = new SelfPause({
    campaigns,
    redis,
    keys,
    control: controlQueue,
    settings: {
      connectionFailures: config.PAUSE_AFTER_CONNECTION_FAILURES,
      policyRejections: config.PAUSE_AFTER_POLICY_REJECTIONS,
      resumeAttempts: config.AUTO_RESUME_ATTEMPTS,
      resumeDelayMs: config.AUTO_RESUME_DELAY_MS,
    },
    log,
  });
  // Resumes exactly as `depesche resume` does; its queues share one connection of their own.
  const service = new CampaignService({ config, subscribers: deps.subscribers, redis: connect() });

  const workerOptions = {
    prefix: keys.tag,
    ...lockTimings(config.JOB_LOCK_MS),
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
    liveness,
    settings: {
      mailFrom: config.MAIL_FROM,
      publicUrl: config.PUBLIC_URL,
      secret,
      ...(config.LIST_ID_DOMAIN ? { listIdDomain: config.LIST_ID_DOMAIN } : {}),
      ...(config.UNSUBSCRIBE_MAILTO ? { unsubscribeMailto: config.UNSUBSCRIBE_MAILTO } : {}),
      ...(config.RETURN_PATH_DOMAIN ? { returnPathDomain: config.RETURN_PATH_DOMAIN } : {}),
    },
    globalRate: config.SEND_RATE,
    ...(config.CLAIM_GROUP > 0 ? { claimGroup: config.CLAIM_GROUP } : {}),
    pauseAfter: config.PAUSE_AFTER_CONNECTION_FAILURES,
    selfPause,
    returns: new ReturnCounts(redis, keys),
    softBounces: returnPathOver(redis, keys, config).sink,
    stopping: () => stopping,
    log,
    pendingMarks,
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
  const controlWorker = new Worker<AutoResumeJob>(CONTROL_QUEUE, createAutoResumeProcessor({ campaigns, resume: (id) => service.resume(id), log }), {
    ...workerOptions,
    connection: connect(),
    concurrency: 1,
  });
  controlWorker.on('error', (error) => log('warn', 'worker error', { err: error.message }));
  for (const worker of [batchWorker, fanoutWorker]) {
    worker.on('error', (error) => log('warn', 'worker error', { err: error.message }));
    worker.on('failed', (job, error) => {
      const campaignId = job?.data.campaignId;
      log('warn', 'job failed', { campaign: campaignId, job: job?.id, attempt: job?.attemptsMade, err: error.message });
      // A job out of attempts would leave its recipients unhandled and the campaign
      // unfinished without a word: pause it and say why; `resume` retries the job.
      if (job && campaignId && job.attemptsMade >= (job.opts.attempts ?? 1)) {
        const what = job.name === 'batch' ? `Batch ${(job.data as BatchJobData).batchNo}` : 'The fan-out';
        const reason = `${what} failed after ${job.attemptsMade} attempts: ${describeFailure(error)}. Fix the cause, then resume.`;
        campaigns.autoPause(campaignId, reason).then(
          (paused) => paused && log('warn', 'campaign paused itself: a job ran out of attempts', { campaign: campaignId, reason }),
          (pauseError: unknown) => log('error', 'could not pause the campaign after a job ran out of attempts', { campaign: campaignId, err: describeFailure(pauseError) }),
        );
      }
    });
  }
  await Promise.all([batchWorker.waitUntilReady(), fanoutWorker.waitUntilReady(), controlWorker.waitUntilReady()]);

  // Ledgers past LEDGER_RETENTION_DAYS are reduced once at start and then daily (retention.ts);
  // several workers doing it at once only repeat each other's deletes.
  const prune = () =>
    pruneLedgers(redis, keys, { retentionDays: config.LEDGER_RETENTION_DAYS }).then(
      (pruned) => pruned.length > 0 && log('info', 'pruned ledgers past retention', { campaigns: pruned.map((c) => c.id), days: config.LEDGER_RETENTION_DAYS }),
      (error: unknown) => log('warn', 'could not prune ledgers past retention', { err: describeFailure(error) }),
    );
  void prune();
  const pruneTimer = setInterval(() => void prune(), 86_400_000);
  pruneTimer.unref();

  return {
    async close(timeoutMs = config.SHUTDOWN_TIMEOUT_MS) {
      stopping = true;
      clearInterval(pruneTimer);
      const graceful = (async () => {
        await Promise.all([batchWorker.close(), fanoutWorker.close(), controlWorker.close()]);
        await Promise.all([batchQueue.close(), controlQueue.close(), service.close()]);
        await liveness.stop(true);
        return true;
      })();
      let timer: NodeJS.Timeout | undefined;
      const clean = await Promise.race([graceful, new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))]);
      clearTimeout(timer);
      const unrecorded = [...pendingMarks.values()];
      if (!clean) {
        graceful.catch((error: unknown) => log('warn', 'closing the worker failed after the timeout', { err: describeFailure(error) }));
        await liveness.stop(false);
        log('error', `gave up waiting for Redis after ${timeoutMs} ms; ${unrecorded.length} answer(s) not recorded (they turn unclear)`, { unrecorded });
      }
      await transport.close();
      // BullMQ leaves connections it was handed open.
      for (const connection of connections) connection.disconnect();
      if (clean) log('info', 'worker stopped; unfinished batches stay queued');
      return { clean, unrecorded };
    },
  };
}
