import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';
import { DelayedError, type Job } from 'bullmq';
import type { Transport } from '../transport/types.ts';
import type { CampaignRepository, FrozenEdition, StoredCampaign } from './campaigns.ts';
import { UNCLEAR_CAUSES, type ClaimedRecipient, type GroupClaimResult, type Ledger, type MarkResult } from './ledger.ts';
import type { WorkerLiveness } from './liveness.ts';
import { prepareEdition, type MessageSettings, type PreparedEdition } from './mime.ts';
import { classifyFailure, describeFailure, softBounceAtSend } from './outcome.ts';
import type { SelfPause } from './self-pause.ts';
import type { ReturnCounts } from '../inbound/counts.ts';
import type { ReturnSink } from '../inbound/types.ts';
import { decideRecipient } from './recipient-decision.ts';
import { editionFor } from '../core/edition-fallback.ts';
import { LANGS, type Lang } from '../core/lang.ts';
import type { BatchJobData, BatchResult, CampaignSubscribers } from './types.ts';

/**
 * Bounds how many messages one worker process has between claim and mark. A group claim
 * takes a slot for each of its recipients before it asks the ledger, so no claim is ever
 * made for a message that could not be in flight at once.
 */
export class InFlight {
  readonly limit: number;
  #active = 0;
  #waiting: { n: number; resolve: () => void }[] = [];

  constructor(limit: number) {
    this.limit = limit;
  }

  get active(): number {
    return this.#active;
  }

  /** Waits until `n` slots are free (first come, first served) and takes them. */
  async acquireMany(n: number): Promise<void> {
    if (n > this.limit) throw new Error(`cannot take ${n} in-flight slots of ${this.limit}`);
    if (this.#waiting.length === 0 && this.#active + n <= this.limit) {
      this.#active += n;
      return;
    }
    await new Promise<void>((resolve) => this.#waiting.push({ n, resolve }));
  }

  release(n = 1): void {
    this.#active -= n;
    while (this.#waiting.length > 0 && this.#active + this.#waiting[0]!.n <= this.limit) {
      const next = this.#waiting.shift()!;
      this.#active += next.n;
      next.resolve();
    }
  }
}

/** Where the campaign code reports; every line names the campaign. */
export type CampaignLog = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;

/** A ledger write that has not been acknowledged yet: what a shutdown that cannot wait any longer reports. */
export interface PendingMark {
  campaign: string;
  subscriber: string;
  outcome: string;
}

export interface BatchDeps {
  campaigns: CampaignRepository;
  ledger: Ledger;
  subscribers: CampaignSubscribers;
  transport: Pick<Transport, 'sendMail'>;
  inFlight: InFlight;
  liveness: Pick<WorkerLiveness, 'runStarted' | 'runEnded'>;
  settings: Omit<MessageSettings, 'campaignId' | 'list'>;
  /** Global SEND_RATE. */
  globalRate: number;
  /** PAUSE_AFTER_CONNECTION_FAILURES. */
  pauseAfter: number;
  /** Pauses after an outage (resuming by itself) or repeated policy rejections; see self-pause.ts. */
  selfPause?: Pick<SelfPause, 'outage' | 'afterPolicyRejection'>;
  /** Totals of bounces and rejections for /metrics (inbound/counts.ts). */
  returns?: Pick<ReturnCounts, 'add'>;
  /** Where a soft bounce goes to be counted per reader (the return path's sink): enough of them bounce the reader. */
  softBounces?: Pick<ReturnSink, 'bounce'>;
  /** True once the worker is shutting down: finish what is in flight, claim nothing more. */
  stopping(): boolean;
  log: CampaignLog;
  /** Ledger writes under way, keyed `campaign/subscriber`; filled and emptied here. */
  pendingMarks?: Map<string, PendingMark>;
  /** How long to wait before asking again about a recipient another live run holds. @defaultValue 250 */
  busyRetryMs?: number;
  /**
   * Recipients claimed per ledger call. A batch waits until this many in-flight slots are
   * free, then claims them together. @defaultValue a quarter of the in-flight limit, so
   * three quarters stay in flight (more than the SMTP pool) while a group is claimed
   */
  claimGroup?: number;
}

export type BatchProcessor = (job: Job<BatchJobData, BatchResult>, token?: string, signal?: AbortSignal) => Promise<BatchResult>;

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface BatchContext {
  campaignId: string;
  batchNo: number;
  /** An unhandled rejection that arose inside this batch; the batch fails with it. */
  failure?: Error;
}

const batchContext = new AsyncLocalStorage<BatchContext>();

/**
 * For the worker's `unhandledRejection` guard. Node runs that handler in the async
 * context of the promise, so a rejection that escaped a batch is charged to that batch:
 * the batch fails with it (BullMQ retries) instead of the process dying. Returns the
 * batch it was charged to, or undefined when it arose outside any batch.
 */
export function failCurrentBatch(reason: unknown): { campaignId: string; batchNo: number } | undefined {
  const context = batchContext.getStore();
  if (!context) return undefined;
  context.failure ??= asError(reason);
  return { campaignId: context.campaignId, batchNo: context.batchNo };
}

/**
 * The batch processor: a plain function BullMQ calls with a job of recipient ids. For
 * each recipient: skip unless active, claim in the ledger (which also checks the
 * campaign's state, its edition version and the rate limits), build the message, send,
 * mark the answer. No recipient's task can escape the batch: whatever goes wrong with one
 * is recorded on that one (failed before the message left, unclear after), and the batch
 * waits for every task before it ends.
 *
 * It ends in one of four ways:
 * - all recipients handled → the batch is done;
 * - some got 4xx or a refused connection, or an answer could not be recorded → throws,
 *   and BullMQ retries the batch with backoff; the retry skips everyone already marked;
 * - the campaign is paused → the batch parks itself (no polling; resume queues it again);
 * - the worker is stopping → the job goes back to wait (no attempt spent).
 */
export function createBatchProcessor(deps: BatchDeps): BatchProcessor {
  const prepared = new Map<string, Promise<Map<string, PreparedEdition>>>();
  const pendingMarks = deps.pendingMarks ?? new Map<string, PendingMark>();

  const editionsOf = (campaign: Pick<StoredCampaign, 'id' | 'list'>, version: number): Promise<Map<string, PreparedEdition>> => {
    const key = `${campaign.id}@${version}`;
    let entry = prepared.get(key);
    if (!entry) {
      entry = deps.campaigns.editions(campaign.id).then((editions: FrozenEdition[]) => {
        const map = new Map<string, PreparedEdition>();
        for (const edition of editions) map.set(edition.lang, prepareEdition(edition, { ...deps.settings, campaignId: campaign.id, list: campaign.list }));
        return map;
      });
      entry.catch(() => prepared.delete(key));
      prepared.set(key, entry);
      // A worker serves few campaigns at once; keep the newest.
      if (prepared.size > 8) prepared.delete(prepared.keys().next().value!);
    }
    return entry;
  };

  async function runBatch(job: Job<BatchJobData, BatchResult>, token: string | undefined, signal: AbortSignal | undefined, context: BatchContext): Promise<BatchResult> {
    const data = job.data;
    const { campaignId, batchNo, ids } = data;
    const mode = data.mode ?? 'send';
    const result: BatchResult = { sent: 0, bounced: 0, failed: 0, skipped: 0, unclear: 0 };
    const defer = async (): Promise<never> => {
      await job.moveToDelayed(Date.now(), token);
      throw new DelayedError();
    };

    let campaign = await deps.campaigns.get(campaignId);
    if (!campaign) return { ...result, halted: 'missing' };
    if (campaign.state === 'cancelled') return { ...result, halted: 'cancelled' };
    if (deps.stopping()) return defer();
    if (campaign.state !== 'sending') {
      const parked = await deps.campaigns.park(data);
      if (parked === 'parked') return { ...result, halted: 'parked' };
      if (parked === 'cancelled' || parked === 'missing') return { ...result, halted: parked };
      campaign = (await deps.campaigns.get(campaignId)) ?? campaign;
    }

    const run = randomBytes(6).toString('base64url');
    await deps.liveness.runStarted(run);
    try {
      return await sendBatch(job, campaign, run, mode, result, defer, signal, context);
    } finally {
      await deps.liveness.runEnded(run).catch((error: unknown) =>
        deps.log('warn', 'could not end the batch run in Redis; its open claims turn unclear once its heartbeat runs out', { campaign: campaignId, batch: batchNo, err: describeFailure(error) }),
      );
    }
  }

  async function sendBatch(
    job: Job<BatchJobData, BatchResult>,
    campaign: StoredCampaign,
    run: string,
    mode: 'send' | 'resend',
    result: BatchResult,
    defer: () => Promise<never>,
    signal: AbortSignal | undefined,
    context: BatchContext,
  ): Promise<BatchResult> {
    const { campaignId, batchNo } = job.data;
    let version = campaign.version;
    let editions = await editionsOf(campaign, version);
    // The campaign's languages, once per edition set rather than once per reader.
    let editionLangs = [...editions.keys()] as Lang[];
    const attempts = job.opts.attempts ?? 1;
    const lastAttempt = job.attemptsMade + 1 >= attempts;
    const claimBase = { mode, globalRate: deps.globalRate, campaignRate: campaign.rate ?? 0, ...(campaign.restOf ? { restOf: campaign.restOf } : {}) };
    let halt: string | undefined;
    let retry = 0;
    let lastError = '';
    let unrecorded: Error | undefined;
    let busy: string[] = [];
    const stop = () => halt !== undefined || deps.stopping() || signal?.aborted === true;
    const fields = (id: string) => ({ campaign: campaignId, batch: batchNo, subscriber: id });
    const decide = (reader: ClaimedRecipient) => decideRecipient(reader, campaign, editionLangs);
    // The reader languages that get an edition: the claim script skips the others without a token.
    const sendLangs = () => LANGS.filter((lang) => editionFor(editionLangs, lang, campaign.fallback).kind !== 'skip');

    // Every ledger write after a claim goes through here, so a shutdown that cannot wait
    // for Redis any longer can say which answers it could not record.
    const record = async <T>(id: string, outcome: string, write: () => Promise<T>): Promise<T> => {
      const key = `${campaignId}/${id}`;
      pendingMarks.set(key, { campaign: campaignId, subscriber: id, outcome });
      try {
        return await write();
      } finally {
        pendingMarks.delete(key);
      }
    };
    const mark = (id: string, outcome: 'sent' | 'bounced' | 'failed' | 'unclear' | 'skipped', options: Parameters<Ledger['mark']>[4] = {}) =>
      record(id, outcome, () => deps.ledger.mark(campaignId, run, id, outcome, options));

    const afterFailure = async (marked: MarkResult, reason: string) => {
      if (marked.streak < deps.pauseAfter) return;
      if (deps.selfPause) return void (await deps.selfPause.outage(campaignId, reason));
      const paused = await deps.campaigns.autoPause(campaignId, `Paused after ${deps.pauseAfter} connection failures in a row; last: ${reason}`);
      if (paused) deps.log('warn', 'campaign paused itself after repeated SMTP connection failures', { campaign: campaignId, last: reason });
    };

    type Phase = 'before claim' | 'claimed' | 'handed to SMTP' | 'answered';
    // Whatever goes wrong for one recipient is recorded on that one, as far as it got.
    const unexpected = async (id: string, phase: Phase, error: unknown): Promise<void> => {
      const note = `${phase}: ${describeFailure(error)}`;
      deps.log('error', 'sending to one recipient failed unexpectedly', { ...fields(id), phase, err: describeFailure(error) });
      try {
        if (phase === 'before claim') {
          await deps.ledger.fail(campaignId, id, note);
          result.failed++;
        } else if (phase === 'claimed') {
          await mark(id, 'failed', { note });
          result.failed++;
        } else if (phase === 'handed to SMTP') {
          await mark(id, 'unclear', { note });
          result.unclear++;
        } else {
          // The answer is known but writing it failed: the claim stays, and the retry
          // of this batch turns it unclear (answer not recorded).
          unrecorded ??= asError(error);
        }
      } catch (recordError) {
        deps.log('error', 'could not record the failure of one recipient', { ...fields(id), err: describeFailure(recordError) });
        unrecorded ??= asError(recordError);
      }
    };

    /** One claimed recipient: build, send, record the answer. */
    const deliver = async (recipient: ClaimedRecipient): Promise<void> => {
      const id = recipient.id;
      let phase: Phase = 'claimed';
      try {
        // The claim script skipped whoever is not to be sent to (inactive, off the list, no
        // edition for their language), reading their record in the same step; the same
        // decision is made here on that record, and it is the one that counts.
        const choice = decide(recipient);
        if (choice.kind === 'skip') {
          await mark(id, 'skipped', { note: choice.reason });
          result.skipped++;
          return;
        }
        const edition = editions.get(choice.lang);
        if (!edition) throw new Error(`no ${choice.lang} edition in this campaign`);
        const message = edition.build(recipient, run);
        phase = 'handed to SMTP';
        let failure: unknown;
        let failed = false;
        try {
          await deps.transport.sendMail({ envelope: message.envelope, messageId: message.messageId, raw: message.parts });
        } catch (error) {
          failure = error;
          failed = true;
        }
        phase = 'answered';
        if (!failed) {
          await mark(id, 'sent', { streak: 'reset' });
          result.sent++;
          return;
        }
        const kind = classifyFailure(failure);
        const reason = describeFailure(failure);
        lastError = reason;
        if (kind === 'bounce') {
          await mark(id, 'bounced', { note: reason, streak: 'reset' });
          result.bounced++;
          // The ledger holds the answer; the subscriber's status follows it. If that
          // fails (the subscriber was erased meanwhile), say so and go on.
          await deps.subscribers.setStatus(id, 'bounced', reason).catch((error: unknown) =>
            deps.log('warn', 'could not mark a bounced subscriber as bounced', { ...fields(id), err: describeFailure(error) }),
          );
          deps.log('info', 'reader bounced', { ...fields(id), reason });
          deps.returns?.add('hard-bounce', 'send').catch(() => {});
        } else if (kind === 'policy' || kind === 'soft') {
          // Refused for good, but not because the mailbox is gone: the reader stays active.
          const marked = await mark(id, 'failed', { note: reason, streak: kind === 'policy' ? 'policy' : 'reset' });
          result.failed++;
          if (kind === 'policy') {
            deps.returns?.add('rejection', 'send').catch(() => {});
            await deps.selfPause?.afterPolicyRejection(campaignId, marked.streak, reason);
          } else {
            await deps.softBounces?.bounce(softBounceAtSend(campaignId, id, run, reason)).catch((error: unknown) =>
              deps.log('warn', 'could not count a soft bounce', { ...fields(id), err: describeFailure(error) }),
            );
          }
        } else if (kind === 'unknown') {
          await mark(id, 'unclear', { note: UNCLEAR_CAUSES.dropped });
          result.unclear++;
          deps.log('warn', 'recipient unclear: the connection dropped after the message was sent', { ...fields(id), err: reason });
        } else {
          const streak = kind === 'connection' ? 'conn' : 'reset';
          if (lastAttempt) {
            await afterFailure(await mark(id, 'failed', { note: reason, streak }), reason);
            result.failed++;
          } else {
            await afterFailure(await record(id, 'released', () => deps.ledger.release(campaignId, run, id, { streak })), reason);
            retry++;
          }
        }
      } catch (error) {
        await unexpected(id, phase, error);
      }
    };

    /**
     * Claims a group whose in-flight slots the caller took, and starts a delivery for each
     * recipient claimed; every slot is given back exactly once (when its delivery ends, or
     * at once for a recipient not claimed). Those the rate limit holds back have their
     * tokens reserved and wait, together, for the time the bucket names; then they are
     * claimed with the tokens already paid, so a busy bucket costs one more call, not a
     * storm of refused ones.
     */
    const claimGroup = async (group: string[], tasks: Promise<void>[]): Promise<void> => {
      const free = (n: number) => deps.inFlight.release(n);
      let pending = group;
      let prepaid = 0;
      while (pending.length > 0) {
        let answer: GroupClaimResult;
        try {
          answer = await deps.ledger.claimMany(campaignId, run, pending, { ...claimBase, version, prepaid, list: campaign.list, sendLangs: sendLangs() });
          if (answer.kind === 'stale') {
            // `update` replaced the editions while this batch was paused: use the new ones.
            version = answer.version;
            editions = await editionsOf(campaign, version);
            editionLangs = [...editions.keys()] as Lang[];
            continue;
          }
        } catch (error) {
          for (const id of pending) tasks.push(unexpected(id, 'before claim', error).finally(() => free(1)));
          return;
        }
        if (answer.kind === 'halt') {
          halt ??= answer.state;
          free(pending.length);
          return;
        }
        const waiting: string[] = [];
        answer.entries.forEach((entry, i) => {
          const id = pending[i]!;
          if (entry.kind === 'claimed') return tasks.push(deliver(entry.recipient).finally(() => free(1)));
          if (entry.kind === 'wait') return waiting.push(id);
          free(1);
          if (entry.kind === 'skipped') result.skipped++;
          else if (entry.kind === 'busy') busy.push(id);
          else if (entry.state === 'u') {
            result.unclear++;
            deps.log('warn', 'recipient unclear: an earlier run claimed it and recorded no answer; not sent again', fields(id));
          }
          return undefined;
        });
        pending = waiting;
        prepaid = answer.reserved;
        if (pending.length > 0) {
          await sleep(answer.waitMs);
          if (stop()) {
            free(pending.length);
            return;
          }
        }
      }
    };

    const groupSize = Math.max(1, Math.min(deps.claimGroup ?? Math.ceil(deps.inFlight.limit / 4), deps.inFlight.limit));
    const sendTo = async (ids: string[]): Promise<void> => {
      const tasks: Promise<void>[] = [];
      for (let start = 0; start < ids.length && !stop(); start += groupSize) {
        const group = ids.slice(start, start + groupSize);
        await deps.inFlight.acquireMany(group.length);
        if (stop()) {
          deps.inFlight.release(group.length);
          break;
        }
        await claimGroup(group, tasks);
      }
      // Every claimed message gets its answer marked before the batch gives up its lock.
      for (const settled of await Promise.allSettled(tasks)) {
        if (settled.status === 'rejected') unrecorded ??= asError(settled.reason);
      }
    };

    await sendTo(job.data.ids);
    // Recipients another live run holds (a batch picked up twice): wait until that run
    // records them, or dies and they turn unclear. The batch is not done before.
    while (busy.length > 0 && !stop()) {
      await sleep(deps.busyRetryMs ?? 250);
      const again = busy;
      busy = [];
      await sendTo(again);
    }

    if (context.failure) throw context.failure;
    if (unrecorded) throw new Error(`batch ${batchNo} of ${campaignId} could not record every answer (${unrecorded.message}); retrying`);
    if (halt === 'cancelled' || halt === 'missing') return { ...result, halted: halt };
    if (halt === 'done') return result;
    if (halt !== undefined) {
      const parked = await deps.campaigns.park(job.data);
      if (parked === 'parked') return { ...result, halted: 'parked' };
      if (parked === 'cancelled' || parked === 'missing') return { ...result, halted: parked };
      return defer(); // resumed meanwhile: run again
    }
    if (deps.stopping() || signal?.aborted || busy.length > 0) return defer();
    if (retry > 0) {
      throw new Error(`${retry} recipient(s) of batch ${batchNo} were not accepted yet (${lastError}); retrying`);
    }
    await deps.campaigns.batchDone(campaign, batchNo);
    return result;
  }

  return function processBatch(job, token, signal) {
    const context: BatchContext = { campaignId: job.data.campaignId, batchNo: job.data.batchNo };
    return batchContext.run(context, () => runBatch(job, token, signal, context));
  };
}
