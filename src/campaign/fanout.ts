import type { Job, JobsOptions, Queue } from 'bullmq';
import type { CampaignRepository } from './campaigns.ts';
import { batchJobId } from './queues.ts';
import type { BatchJobData, CampaignSubscribers, FanoutJobData } from './types.ts';

export interface FanoutDeps {
  campaigns: CampaignRepository;
  subscribers: CampaignSubscribers;
  batches: Pick<Queue<BatchJobData>, 'addBulk'>;
  batchSize: number;
  batchJobOptions: JobsOptions;
}

/** Batches added per step of the fan-out. */
const PAGES_PER_STEP = 20;

export interface FanoutResult {
  batches: number;
  recipients: number;
}

/**
 * Walks the list by cursor and adds one batch job per BATCH_SIZE members, a few at a
 * time. Progress (cursor, batch number, total) is saved in the campaign after each step,
 * so a fan-out that dies and starts again resumes from the last saved step and re-adds at
 * most that step's jobs, under the same ids, which BullMQ ignores. A paused campaign is walked all the same: its
 * batches park at once, and resume queues them again.
 */
export function createFanoutProcessor(deps: FanoutDeps) {
  return async function processFanout(job: Job<FanoutJobData, FanoutResult>): Promise<FanoutResult> {
    const { campaignId } = job.data;
    const started = await deps.campaigns.start(campaignId);
    if (started === 'missing' || started === 'cancelled') return { batches: 0, recipients: 0 };
    const campaign = await deps.campaigns.get(campaignId);
    if (!campaign || campaign.state === 'cancelled' || campaign.fanoutDone) {
      return { batches: campaign?.batches ?? 0, recipients: campaign?.total ?? 0 };
    }
    let { batches, cursor } = campaign;
    let recipients = campaign.total;
    for (;;) {
      // Several batches' worth of ids per step: one read, one bulk add, one saved step.
      const page = await deps.subscribers.page(campaign.list, cursor, deps.batchSize * PAGES_PER_STEP);
      const jobs = [];
      for (let at = 0; at < page.ids.length; at += deps.batchSize) {
        const batchNo: number = batches + jobs.length;
        jobs.push({ name: 'batch', data: { campaignId, batchNo, ids: page.ids.slice(at, at + deps.batchSize) }, opts: { ...deps.batchJobOptions, jobId: batchJobId(campaignId, batchNo) } });
      }
      if (jobs.length > 0) await deps.batches.addBulk(jobs);
      const saved = await deps.campaigns.fanoutStep(campaign, batches, jobs.length, page.next, page.ids.length);
      if (saved === 'stale' || saved === 'cancelled') {
        // Another fan-out of this campaign got ahead (or it was cancelled): it owns the rest.
        const now = await deps.campaigns.get(campaignId);
        return { batches: now?.batches ?? 0, recipients: now?.total ?? 0 };
      }
      batches += jobs.length;
      recipients += page.ids.length;
      cursor = page.next;
      if (page.next === null) return { batches, recipients };
    }
  };
}
