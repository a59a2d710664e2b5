import type { Job, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Keyspace } from '../config/redis.ts';
import type { CampaignLog } from './batch.ts';
import type { CampaignRepository } from './campaigns.ts';
import { campaignKeys } from './keys.ts';
import { describeFailure } from './outcome.ts';

/**
 * When a campaign pauses itself, and whether it comes back by itself.
 *
 * - **Outage**: PAUSE_AFTER_CONNECTION_FAILURES connection failures in a row. Nothing is
 *   wrong with the campaign, so it resumes by itself after AUTO_RESUME_DELAY_MS, doubling
 *   each time, at most AUTO_RESUME_ATTEMPTS times in a row; then it waits for ops. Once mail
 *   went out again after a resume, the next outage is a new one and starts counting anew
 *   (a long send with two outages hours apart resumes from both). The
 *   resume is a delayed job in Redis, so a worker restart does not lose it, and it acts only
 *   while the campaign is still paused for that outage (ops who paused, resumed or cancelled
 *   meanwhile win).
 * - **Policy**: PAUSE_AFTER_POLICY_REJECTIONS rejections of the sender or the content in a
 *   row (5.7.x, "blocked", "spam"…). Sending on would burn the sender's reputation further,
 *   and only a person can fix it (a blocklisting, DNS, the content): it waits for ops.
 *
 * The reason says which, and what to do; `depesche status` shows it.
 */

/** BullMQ queue of delayed campaign actions (auto-resume). */
export const CONTROL_QUEUE = 'campaign-control';

export interface SelfPauseSettings {
  /** PAUSE_AFTER_CONNECTION_FAILURES. */
  connectionFailures: number;
  /** PAUSE_AFTER_POLICY_REJECTIONS. */
  policyRejections: number;
  /** AUTO_RESUME_ATTEMPTS. */
  resumeAttempts: number;
  /** AUTO_RESUME_DELAY_MS: the first wait; each next one doubles. */
  resumeDelayMs: number;
}

export interface AutoResumeJob {
  campaignId: string;
  /** The pause reason this resume belongs to: any other pause is not its business. */
  reason: string;
  attempt: number;
}

export interface SelfPauseDeps {
  campaigns: Pick<CampaignRepository, 'autoPause'>;
  redis: Redis;
  keys: Keyspace;
  control: Pick<Queue<AutoResumeJob>, 'add'>;
  settings: SelfPauseSettings;
  log: CampaignLog;
}

const AUTO_RESUMES = 'autoResumes';
/** The campaign's `sent` counter when it last paused itself for an outage. */
const SENT_AT_PAUSE = 'autoResumeSent';
/** The ledger's counter of sent mails in the campaign hash (`lua/includes/ledger-codes.lua`). */
const SENT = 'sent';

export class SelfPause {
  readonly #deps: SelfPauseDeps;

  constructor(deps: SelfPauseDeps) {
    this.#deps = deps;
  }

  get settings(): SelfPauseSettings {
    return this.#deps.settings;
  }

  /** After a connection failure whose streak reached the limit: pause, and schedule the resume if any are left. */
  async outage(campaignId: string, last: string): Promise<boolean> {
    const { redis, keys, settings, campaigns, control, log } = this.#deps;
    const meta = campaignKeys(keys, campaignId).meta;
    const [usedField, sentField, sentAtPause] = await redis.hmget(meta, AUTO_RESUMES, SENT, SENT_AT_PAUSE);
    const sent = Number(sentField ?? 0);
    let used = Number(usedField ?? 0);
    // Mail went out since the last outage pause: that resume worked, and this is a new outage.
    if (used > 0 && sentAtPause !== null && sent > Number(sentAtPause)) {
      used = 0;
      await redis.hset(meta, AUTO_RESUMES, 0);
    }
    const what = `Paused after ${settings.connectionFailures} connection failures in a row; last: ${last}.`;
    if (used >= settings.resumeAttempts) {
      const tried = settings.resumeAttempts === 0 ? 'AUTO_RESUME_ATTEMPTS is 0' : `It resumed by itself ${used} times (AUTO_RESUME_ATTEMPTS)`;
      const reason = `${what} ${tried}; fix the SMTP side, then run \`depesche resume ${campaignId}\`.`;
      const paused = await campaigns.autoPause(campaignId, reason);
      if (paused) log('warn', 'campaign paused itself after repeated SMTP connection failures; no automatic resumes left', { campaign: campaignId, last });
      return paused;
    }
    const delay = settings.resumeDelayMs * 2 ** used;
    const reason = `${what} Resumes by itself in ${Math.round(delay / 1000)} s (automatic resume ${used + 1} of ${settings.resumeAttempts}).`;
    const paused = await campaigns.autoPause(campaignId, reason);
    if (!paused) return false;
    try {
      await redis.multi().hincrby(meta, AUTO_RESUMES, 1).hset(meta, SENT_AT_PAUSE, sent).exec();
      await control.add('auto-resume', { campaignId, reason, attempt: used + 1 }, {
        delay,
        // Unique per outage (the sent count moved between two), so a later outage's resume is not taken for an earlier one's.
        jobId: `${campaignId}-auto-resume-${sent}-${used + 1}`,
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: 24 * 3600 },
        removeOnFail: { age: 7 * 24 * 3600 },
      });
    } catch (error) {
      // The pause holds either way; only the automatic way out is missing.
      log('error', 'campaign paused after an outage, but its automatic resume could not be scheduled; resume it by hand', { campaign: campaignId, err: describeFailure(error) });
      return true;
    }
    log('warn', 'campaign paused itself after repeated SMTP connection failures; it resumes by itself', { campaign: campaignId, last, inMs: delay, attempt: used + 1 });
    return true;
  }

  /** After each policy rejection, with the count in a row: pauses at the limit. */
  async afterPolicyRejection(campaignId: string, streak: number, last: string): Promise<boolean> {
    if (streak < this.#deps.settings.policyRejections) return false;
    return this.policy(campaignId, last);
  }

  /** Pauses until ops act, saying why. */
  async policy(campaignId: string, last: string): Promise<boolean> {
    const { settings, campaigns, log } = this.#deps;
    const reason =
      `Paused after ${settings.policyRejections} policy rejections in a row: receiving servers refuse the sender or the content ` +
      `(a blocklisting, SPF/DKIM/DMARC, or a spam verdict), not the readers, so nobody was bounced. Last: ${last}. ` +
      `Check blocklists, DNS and the content, then run \`depesche resume ${campaignId}\`.`;
    const paused = await campaigns.autoPause(campaignId, reason);
    if (paused) log('warn', 'campaign paused itself after repeated policy rejections; it waits for ops', { campaign: campaignId, last });
    return paused;
  }
}

export interface AutoResumeDeps {
  campaigns: Pick<CampaignRepository, 'get'>;
  /** Resumes as `depesche resume` does (parked batches queued again, failed jobs retried). */
  resume(campaignId: string): Promise<unknown>;
  log: CampaignLog;
}

/** The processor of the control queue: resumes a campaign still paused for the outage the job belongs to. */
export function createAutoResumeProcessor(deps: AutoResumeDeps) {
  return async function processAutoResume(job: Job<AutoResumeJob>): Promise<string> {
    const { campaignId, reason, attempt } = job.data;
    const campaign = await deps.campaigns.get(campaignId);
    if (!campaign || campaign.state !== 'paused' || campaign.reason !== reason) {
      deps.log('info', 'automatic resume not needed: the campaign is no longer paused for that outage', { campaign: campaignId, state: campaign?.state ?? 'missing', attempt });
      return 'skipped';
    }
    try {
      await deps.resume(campaignId);
    } catch (error) {
      deps.log('warn', 'automatic resume failed; trying again', { campaign: campaignId, attempt, err: describeFailure(error) });
      throw error;
    }
    deps.log('info', 'campaign resumed itself after an SMTP outage', { campaign: campaignId, attempt });
    return 'resumed';
  };
}
