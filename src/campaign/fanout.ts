import type { Job, JobsOptions, Queue } from 'bullmq';
import type { CampaignRepository } from './campaigns.ts';
import { batchJobId } from './queues.ts';
import type { BatchJobData, CampaignSubscribers, FanoutJobData } from './types.ts';

export interface FanoutDeps {
  campaigns: CampaignRepository;
  subscribers: CampaignSubscribers;
  batches: Pick<Queue<BatchJobData>, 'add'>;
  batchSize: number;
  batchJobOptions: JobsOptions;
}

export interface FanoutResult {
  batches: number;
  recipients: number;
}

/**
 * Walks the list by cursor and adds one batch job per page. Progress (cursor, batch
 * number, total) is saved in the campaign after each add, so a fan-out that dies and
 * starts again resumes from the last saved page and re-adds at most that one job, under
 * the same id, which BullMQ ignores. A paused campaign is walked all the same: its
 * batches park at once, and resume queues them again.
 */
export function createFanoutProcessor(deps: FanoutDeps) {
  return async function processFanout(job: Job<FanoutJobData, FanoutResult>): Promise<FanoutResult> {
    const { campaignId } = job.data;
    const started = await deps.campaigns.start(campaignId);
    if (started === 'missing' || started === 'cancelled') return { batches: 0, recipients: 0 };
    for (;;) {
      const campaign = await deps.campaigns.get(campaignId);
      if (!campaign || campaign.state === 'cancelled' || campaign.fanoutDone) {
        return { batches: campaign?.batches ?? 0, recipients: campaign?.total ?? 0 };
      }
      const page = await deps.subscribers.page(campaign.list, campaign.cursor, deps.batchSize);
      const batchNo = campaign.batches;
      if (page.ids.length > 0) {
        await deps.batches.add('batch', { campaignId, batchNo, ids: page.ids }, { ...deps.batchJobOptions, jobId: batchJobId(campaignId, batchNo) });
      }
      await deps.campaigns.fanoutStep(campaign, batchNo, page.next, page.ids.length);
    }
  };
}
