import type { JobsOptions } from 'bullmq';
import type { Config } from '../config/schema.ts';

/** BullMQ queue names; queues live under the installation's key prefix (`keyspace.tag`). */
export const FANOUT_QUEUE = 'campaign-fanout';
export const BATCH_QUEUE = 'campaign-batch';
export const QUEUE_NAMES = [FANOUT_QUEUE, BATCH_QUEUE] as const;

/** Job ids are deterministic, so adding one twice is a no-op in BullMQ. */
export function batchJobId(campaignId: string, batchNo: number, epoch = 0): string {
  // A batch queued again after a pause gets the resume's epoch: its first job may still
  // be kept as completed, and BullMQ would ignore a second job under the same id.
  return epoch > 0 ? `${campaignId}-${batchNo}-r${epoch}` : `${campaignId}-${batchNo}`;
}

export function fanoutJobId(campaignId: string): string {
  return `${campaignId}-fanout`;
}

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
