import type { JobsOptions } from 'bullmq';
import type { Config } from '../config/schema.ts';

/** BullMQ queue names; queues live under the installation's key prefix (`keyspace.tag`). */
export const FANOUT_QUEUE = 'campaign-fanout';
export const BATCH_QUEUE = 'campaign-batch';
export const QUEUE_NAMES = [FANOUT_QUEUE, BATCH_QUEUE] as const;

/**
 * Retries of a batch with exponential backoff. Completed jobs are kept a day for the
 * dashboard; correctness never depends on them, since the ledger refuses a second send.
 */
export function batchJobOptions(config: Pick<Config, 'SEND_ATTEMPTS' | 'RETRY_BACKOFF_MS'>): JobsOptions {
  return {
    attempts: config.SEND_ATTEMPTS,
    backoff: { type: 'exponential', delay: config.RETRY_BACKOFF_MS },
    removeOnComplete: { age: 24 * 3600, count: 10_000 },
    removeOnFail: { age: 7 * 24 * 3600 },
  };
}

export const fanoutJobOptions: JobsOptions = {
  attempts: 20,
  backoff: { type: 'exponential', delay: 1000 },
  removeOnComplete: { age: 24 * 3600 },
  removeOnFail: { age: 7 * 24 * 3600 },
};
