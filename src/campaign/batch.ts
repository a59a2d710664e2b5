import { randomBytes } from 'node:crypto';
import { DelayedError, type Job } from 'bullmq';
import type { CampaignRepository, FrozenEdition } from './campaigns.ts';
import type { Ledger } from './ledger.ts';
import { prepareEdition, type MessageSettings, type PreparedEdition } from './mime.ts';
import { classifyFailure, describeFailure } from './outcome.ts';
import type { BatchJobData, BatchResult, CampaignSubscribers, CampaignTransport } from './types.ts';

/** Bounds how many messages one worker process has between claim and mark. */
export class InFlight {
  readonly limit: number;
  #active = 0;
  #waiting: (() => void)[] = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  get active(): number {
    return this.#active;
  }

  async acquire(): Promise<void> {
    if (this.#active < this.limit) {
      this.#active++;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push(resolve));
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next();
    else this.#active--;
  }
}

export interface BatchDeps {
  campaigns: CampaignRepository;
  ledger: Ledger;
  subscribers: CampaignSubscribers;
  transport: CampaignTransport;
  inFlight: InFlight;
  settings: Omit<MessageSettings, 'campaignId' | 'list'>;
  /** Global SEND_RATE. */
  globalRate: number;
  /** PAUSE_AFTER_CONNECTION_FAILURES. */
  pauseAfter: number;
  /** True once the worker is shutting down: finish what is in flight, claim nothing more. */
  stopping(): boolean;
  /** How long a batch of a paused campaign waits before it looks again. @defaultValue 2000 */
  pausePollMs?: number;
}

export type BatchProcessor = (job: Job<BatchJobData, BatchResult>, token?: string, signal?: AbortSignal) => Promise<BatchResult>;

// Subscribers are read a few at a time ahead, so the inactive are skipped without taking
// a rate-limit token; each one is read again right after its claim, before sending.
const READ_AHEAD = 20;

type SubscriberRow = Awaited<ReturnType<CampaignSubscribers['getMany']>>[number];

/**
 * Reads subscribers asked for during one turn of the event loop with one `getMany`: each
 * message re-reads its recipient right after the claim, and on a busy worker dozens of
 * claims are answered per turn; one round trip (one socket write) for all of them instead
 * of one each. Every read still happens after its own claim was answered.
 */
export function coalescedReader(subscribers: CampaignSubscribers): (id: string) => Promise<SubscriberRow> {
  let queue: { id: string; resolve: (row: SubscriberRow) => void; reject: (error: unknown) => void }[] = [];
  const flush = () => {
    const batch = queue;
    queue = [];
    subscribers.getMany(batch.map((q) => q.id)).then(
      (rows) => batch.forEach((q, i) => q.resolve(rows[i] ?? null)),
      (error: unknown) => batch.forEach((q) => q.reject(error)),
    );
  };
  return (id) =>
    new Promise<SubscriberRow>((resolve, reject) => {
      if (queue.length === 0) setImmediate(flush);
      queue.push({ id, resolve, reject });
    });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The batch processor: a plain function BullMQ calls with a job of recipient ids. For
 * each recipient: skip unless active, claim in the ledger (which also checks the
 * campaign's state and the global rate), build the message, send, mark the answer.
 *
 * It ends in one of three ways:
 * - all recipients handled → the batch is done;
 * - some got 4xx or a refused connection → throws, and BullMQ retries the batch with
 *   backoff; the retry skips everyone already marked (on the last attempt they are failed);
 * - paused, or the worker is stopping → the job goes back to wait (no attempt spent).
 */
export function createBatchProcessor(deps: BatchDeps): BatchProcessor {
  const prepared = new Map<string, Promise<Map<string, PreparedEdition>>>();

  const editionsOf = (campaignId: string, list: string): Promise<Map<string, PreparedEdition>> => {
    let entry = prepared.get(campaignId);
    if (!entry) {
      entry = deps.campaigns.editions(campaignId).then((editions: FrozenEdition[]) => {
        const map = new Map<string, PreparedEdition>();
        for (const edition of editions) map.set(edition.lang, prepareEdition(edition, { ...deps.settings, campaignId, list }));
        return map;
      });
      entry.catch(() => prepared.delete(campaignId));
      prepared.set(campaignId, entry);
      // A worker serves few campaigns at once; keep the newest.
      if (prepared.size > 8) prepared.delete(prepared.keys().next().value!);
    }
    return entry;
  };

  const reread = coalescedReader(deps.subscribers);

  return async function processBatch(job, token, signal) {
    const { campaignId, batchNo, ids } = job.data;
    const mode = job.data.mode ?? 'send';
    const result: BatchResult = { sent: 0, bounced: 0, failed: 0, skipped: 0, unclear: 0 };
    const campaign = await deps.campaigns.get(campaignId);
    if (!campaign || campaign.state === 'cancelled') {
      if (campaign) await deps.ledger.batchDone(campaignId, batchNo);
      return { ...result, halted: 'cancelled' };
    }
    const defer = async (ms: number): Promise<never> => {
      await job.moveToDelayed(Date.now() + ms, token);
      throw new DelayedError();
    };
    if (campaign.state !== 'sending') return defer(deps.pausePollMs ?? 2000);
    if (deps.stopping()) return defer(0);

    const editions = await editionsOf(campaignId, campaign.list);
    const run = randomBytes(6).toString('base64url');
    const attempts = job.opts.attempts ?? 1;
    const lastAttempt = job.attemptsMade + 1 >= attempts;
    const claimOptions = { mode, globalRate: deps.globalRate, campaignRate: campaign.rate ?? 0 };
    const markOptions = { pauseAfter: deps.pauseAfter };
    let halt: string | undefined;
    let retry = 0;
    let lastError = '';
    const inFlight = new Set<Promise<void>>();

    const handle = async (id: string, subscriber: SubscriberRow): Promise<void> => {
      if (!subscriber || subscriber.status !== 'active') {
        await deps.ledger.skip(campaignId, id, mode);
        result.skipped++;
        return;
      }
      for (;;) {
        const claim = await deps.ledger.claim(campaignId, run, id, claimOptions);
        if (claim.kind === 'claimed') break;
        if (claim.kind === 'wait') {
          await sleep(claim.ms);
          if (halt || deps.stopping()) return;
          continue;
        }
        if (claim.kind === 'halt') halt ??= claim.state;
        else if (claim.state === 'u') result.unclear++;
        return;
      }
      // Read again after the claim (which may have waited for the rate limit): whoever
      // unsubscribed or bounced meanwhile gets nothing.
      const fresh = await reread(id);
      if (!fresh || fresh.status !== 'active') {
        await deps.ledger.mark(campaignId, run, id, 'skipped', markOptions);
        result.skipped++;
        return;
      }
      const edition = editions.get(fresh.lang);
      let message;
      try {
        if (!edition) throw new Error(`no ${fresh.lang} edition in this campaign`);
        message = edition.build(fresh, run);
      } catch (error) {
        await deps.ledger.mark(campaignId, run, id, 'failed', markOptions);
        result.failed++;
        lastError = describeFailure(error);
        return;
      }
      try {
        await deps.transport.sendMail({ envelope: message.envelope, messageId: message.messageId, raw: message.raw });
      } catch (error) {
        const failure = classifyFailure(error);
        const reason = describeFailure(error);
        lastError = reason;
        if (failure === 'bounce') {
          await deps.subscribers.setStatus(id, 'bounced', reason);
          await deps.ledger.mark(campaignId, run, id, 'bounced', markOptions);
          result.bounced++;
        } else if (failure === 'unknown') {
          await deps.ledger.mark(campaignId, run, id, 'unclear', markOptions);
          result.unclear++;
        } else {
          const options = {
            ...markOptions,
            connectionFailure: failure === 'connection',
            reason: `Paused after ${deps.pauseAfter} connection failures in a row; last: ${reason}`,
          };
          if (lastAttempt) {
            await deps.ledger.mark(campaignId, run, id, 'failed', options);
            result.failed++;
          } else {
            await deps.ledger.release(campaignId, run, id, options);
            retry++;
          }
        }
        return;
      }
      await deps.ledger.mark(campaignId, run, id, 'sent', markOptions);
      result.sent++;
    };

    const stop = () => halt !== undefined || deps.stopping() || signal?.aborted === true;
    outer: for (let start = 0; start < ids.length; start += READ_AHEAD) {
      if (stop()) break;
      const chunk = ids.slice(start, start + READ_AHEAD);
      const subscribers = await deps.subscribers.getMany(chunk);
      for (let i = 0; i < chunk.length; i++) {
        await deps.inFlight.acquire();
        if (stop()) {
          deps.inFlight.release();
          break outer;
        }
        const task = handle(chunk[i]!, subscribers[i] ?? null).finally(() => {
          deps.inFlight.release();
          inFlight.delete(task);
        });
        inFlight.add(task);
      }
    }
    // Every claimed message gets its answer marked before the batch gives up its lock.
    const settled = await Promise.allSettled([...inFlight]);
    const crashed = settled.find((s) => s.status === 'rejected');
    if (crashed) throw (crashed as PromiseRejectedResult).reason;

    if (halt === 'cancelled') {
      await deps.ledger.batchDone(campaignId, batchNo);
      return { ...result, halted: 'cancelled' };
    }
    if (halt !== undefined) return defer(deps.pausePollMs ?? 2000);
    if (deps.stopping() || signal?.aborted) return defer(0);
    if (retry > 0) {
      throw new Error(`${retry} recipient(s) of batch ${batchNo} were not accepted yet (${lastError}); retrying`);
    }
    await deps.ledger.batchDone(campaignId, batchNo);
    return result;
  };
}
