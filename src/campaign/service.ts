import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { refuseDevUrls } from '../config/preflight.ts';
import { formatFinding, refuseLintErrors, type FindingText } from '../render/lint/report.ts';
import { createRedis, keyspace, type Keyspace } from '../config/redis.ts';
import type { Config } from '../config/schema.ts';
import { DepescheError } from '../errors.ts';
import { LANGS, type Lang } from '../core/lang.ts';
import { planEditions } from '../core/edition-fallback.ts';
import type { Edition } from '../core/edition.ts';
import { CampaignRepository, freeze, newCampaignId, planView, type SendMode } from './campaigns.ts';
import { RedisLedger } from './ledger.ts';
import { workersSeen } from './liveness.ts';
import { BATCH_QUEUE, batchJobId, batchJobOptions, FANOUT_QUEUE, fanoutJobId, fanoutJobOptions } from './queues.ts';
import { describeSendTime, parseSendTime } from './send-time.ts';
import type { BatchJobData, Campaign, CampaignStatus, CampaignSubscribers, FanoutJobData, PlanView } from './types.ts';

/** A lint finding as the campaign code reads it. */
export type SendFinding = FindingText;

/** Compiles an issue once and lints exactly those editions (render's `compileForSend`). */
export interface CampaignCompiler {
  compileForSend(slug: string): Promise<{ editions: Edition[]; findings: SendFinding[] }>;
}

export interface CampaignServiceDeps {
  config: Config;
  subscribers: CampaignSubscribers;
  /** Defaults to a new connection to REDIS_URL, closed by `close()`. */
  redis?: Redis;
  /** Defaults to the compiler over CONTENT_DIR. */
  compiler?: CampaignCompiler;
}

export interface CreateCampaignOptions {
  slug: string;
  list: string;
  /** ISO 8601 with an offset, a wall-clock time with a zone, or one read in TZ (see send-time.ts); absent sends now. */
  at?: string | Date;
  /** The zone a wall-clock `at` is meant in (the API's `zone`). */
  zone?: string;
  /** Messages per second for this campaign; SEND_RATE caps all campaigns together. */
  rate?: number;
  /** Send an issue to a list that already got it, to everyone once more. */
  again?: boolean;
  /** Send only to readers no earlier campaign of the issue reached (sent, bounced, unclear). */
  rest?: boolean;
  /** Only count who would get which language. */
  dryRun?: boolean;
  /** Send although PUBLIC_URL or MAIL_FROM are development defaults. */
  allowDevUrls?: boolean;
}

export interface CreateCampaignResult {
  /** Null for a dry run. */
  id: string | null;
  dryRun: boolean;
  state: Campaign['state'] | 'dry-run';
  at: string;
  /** The zone a wall-clock `at` was read in. */
  zone?: string;
  /** `at` for people: local time, zone, and UTC. */
  when: string;
  /** Active members by language, who the send is for. */
  counts: Record<Lang, number>;
  /** All active members; `plan.total` of them get a mail. */
  total: number;
  /** Who gets which edition under EDITION_FALLBACK, e.g. `de 120 · en 80 (get de)`. */
  plan: PlanView;
  /** A send to the rest: how many active members an earlier campaign reached, and who is left. */
  rest?: { reached: number; remaining: number; earlier: string[] };
  langs: Lang[];
  /** Lint warnings and setup warnings (DKIM off, the zone assumed); errors refuse the send. */
  warnings: string[];
}

export interface UnclearRecipient {
  id: string;
  email: string | null;
  name: string | null;
  lang: Lang | null;
  /** What was seen: `worker died`, `connection dropped after DATA`, `answer not recorded`, … */
  cause: string;
}

export interface ResendResult {
  recipients: number;
  batches: number;
}

export interface UpdateResult {
  status: CampaignStatus;
  version: number;
  subjects: { lang: Lang; before: string | null; after: string }[];
  warnings: string[];
}

/** How long without a worker's heartbeat before `status` says so. */
const NO_WORKER_GRACE_MS = 60_000;

/**
 * What ops do with campaigns, for the CLI and the admin API alike: create (claim the
 * issue+list, compile once, lint those editions, freeze them, schedule), pause, resume,
 * cancel, update, status, and resending on purpose to recipients the ledger holds as
 * unclear. Every change of state goes through the CampaignRepository.
 */
export class CampaignService {
  readonly config: Config;
  readonly keys: Keyspace;
  readonly campaigns: CampaignRepository;
  readonly ledger: RedisLedger;
  readonly #redis: Redis;
  readonly #ownsRedis: boolean;
  readonly #subscribers: CampaignSubscribers;
  readonly #compiler: CampaignCompiler | undefined;
  readonly fanoutQueue: Queue<FanoutJobData>;
  readonly batchQueue: Queue<BatchJobData>;

  constructor(deps: CampaignServiceDeps) {
    this.config = deps.config;
    this.keys = keyspace(deps.config.DEPESCHE_PREFIX);
    this.#ownsRedis = !deps.redis;
    this.#redis = deps.redis ?? createRedis(deps.config, { maxRetriesPerRequest: 3 });
    this.#subscribers = deps.subscribers;
    this.#compiler = deps.compiler;
    this.campaigns = new CampaignRepository(this.#redis, this.keys);
    this.ledger = new RedisLedger(this.#redis, this.keys);
    this.fanoutQueue = new Queue<FanoutJobData>(FANOUT_QUEUE, { connection: this.#redis, prefix: this.keys.tag });
    this.batchQueue = new Queue<BatchJobData>(BATCH_QUEUE, { connection: this.#redis, prefix: this.keys.tag });
  }

  /**
   * Claims the issue+list first (atomically: of two sends at once one wins, the other
   * gets E_CONFLICT naming it), then compiles once, lints those editions and freezes
   * exactly them. A dry run claims nothing and only counts.
   */
  async create(options: CreateCampaignOptions): Promise<CreateCampaignResult> {
    const { slug, list } = options;
    if (options.rate !== undefined && (!Number.isInteger(options.rate) || options.rate < 1)) {
      throw new DepescheError('E_INPUT', `The rate must be a whole number of messages per second, got ${options.rate}.`);
    }
    if (options.again && options.rest) {
      throw new DepescheError('E_INPUT', '--again and --rest contradict each other.', { hint: '--again mails everyone once more; --rest only those no earlier campaign reached.' });
    }
    const time = parseSendTime(options.at, options.zone ? { zone: options.zone } : {});
    if (!(await this.#subscribers.listExists(list))) {
      throw new DepescheError('E_NOT_FOUND', `There is no list "${list}".`, { hint: 'See the lists with `depesche subscribers lists`.' });
    }
    const warnings: string[] = [];
    // One decision for the dry run and the real send: a dry run never throws, but says what the send would do.
    const allowDev = options.allowDevUrls === true || this.config.ALLOW_DEV_URLS;
    for (const problem of refuseDevUrls(this.config, allowDev || options.dryRun === true)) {
      warnings.push(allowDev ? `${problem} (allowed for this send).` : `${problem}; a real send would be refused without --allow-dev-urls.`);
    }
    if (!this.config.DKIM_DOMAIN) {
      warnings.push('DKIM signing is off (DKIM_DOMAIN, DKIM_SELECTOR and a key are unset): Gmail, Yahoo and Outlook want bulk mail signed, and may file it as spam.');
    }
    if (time.zoneAssumed) warnings.push(`--at has no offset or zone; read in ${time.zone} (TZ).`);
    const earlier = options.rest ? await this.campaigns.history(slug) : [];
    if (options.rest && earlier.length === 0) {
      throw new DepescheError('E_INPUT', `Issue ${slug} has no earlier campaign whose rest could be sent.`, { hint: 'Send it without --rest.' });
    }

    const counts = await this.#subscribers.countActiveByLang(list);
    const total = LANGS.reduce((sum, lang) => sum + counts[lang], 0);
    const base = { at: new Date(time.at).toISOString(), ...(time.zone ? { zone: time.zone } : {}), when: describeSendTime(time.at, time.zone), counts, total };

    if (options.dryRun) {
      const editions = await this.#compileChecked(slug, list, counts, warnings);
      const rest = options.rest ? { ...(await this.#restCounts(list, earlier, total)), earlier } : undefined;
      const langs = editions.map((e) => e.lang);
      return { id: null, dryRun: true, state: 'dry-run', ...base, plan: this.#plan(langs, counts), ...(rest ? { rest } : {}), langs, warnings };
    }

    const now = Date.now();
    const id = newCampaignId();
    const mode: SendMode = options.rest ? 'rest' : options.again ? 'again' : 'new';
    await this.campaigns.reserve({
      id, slug, list, mode, createdAt: now, at: time.at, expected: total, readers: counts, fallback: this.config.EDITION_FALLBACK,
      ...(time.zone ? { zone: time.zone } : {}),
      ...(options.rate ? { rate: options.rate } : {}),
      ...(options.rest ? { restOf: earlier } : {}),
    });
    let editions: Edition[];
    try {
      editions = await this.#compileChecked(slug, list, counts, warnings);
      await this.campaigns.freeze(id, slug, list, editions.map(freeze));
    } catch (error) {
      await this.campaigns.abandon(id, slug, list);
      throw error;
    }
    // Starts as scheduled either way: the fan-out switches to sending and starts the clock.
    await this.fanoutQueue.add('fanout', { campaignId: id }, { ...fanoutJobOptions, jobId: fanoutJobId(id), delay: Math.max(0, time.at - Date.now()) });
    const langs = editions.map((e) => e.lang);
    return { id, dryRun: false, state: 'scheduled', ...base, plan: this.#plan(langs, counts), langs, warnings };
  }

  #plan(langs: Lang[], counts: Record<Lang, number>): PlanView {
    return planView(langs, counts, this.config.EDITION_FALLBACK);
  }

  /** Compiles once, lints those editions, and says who gets nothing because their language has none. */
  async #compileChecked(slug: string, list: string, counts: Record<Lang, number>, warnings: string[], policy = this.config.EDITION_FALLBACK): Promise<Edition[]> {
    const compiler = await this.#compilerFor();
    const { editions, findings } = await compiler.compileForSend(slug);
    refuseLintErrors(slug, findings, 'sending');
    warnings.unshift(...findings.filter((f) => f.severity !== 'error').map((f) => formatFinding(f, { label: false })));
    // Readers of a language without an edition get what EDITION_FALLBACK says (the batch
    // decides per reader with the same editionFor); only getting nothing is worth a warning.
    const { skipped } = planEditions(editions.map((e) => e.lang), counts, policy);
    for (const lang of LANGS) {
      const n = skipped[lang];
      if (n) warnings.push(`Issue ${slug} has no ${lang} edition: ${n} ${lang} reader(s) of ${list} get nothing (EDITION_FALLBACK=skip), counted as skipped.`);
    }
    return editions;
  }

  /** Active members an earlier campaign of the issue reached, walking the list a page at a time. */
  async #restCounts(list: string, earlier: string[], total: number): Promise<{ reached: number; remaining: number }> {
    let reached = 0;
    let cursor: string | null = null;
    do {
      const page = await this.#subscribers.page(list, cursor, 1000);
      const rows = await this.#subscribers.getMany(page.ids);
      const active = page.ids.filter((_, i) => rows[i]?.status === 'active');
      reached += await this.ledger.reachedBy(earlier, active);
      cursor = page.next;
    } while (cursor !== null);
    return { reached, remaining: total - reached };
  }

  /** Takes effect before the next recipient in every worker. */
  async pause(id: string, reason = 'paused by ops'): Promise<CampaignStatus> {
    await this.campaigns.pause(id, reason);
    return this.status(id);
  }

  /**
   * Back to sending: parked batches are queued again, each once, however many there are.
   * Resuming a campaign that is sending but still has parked batches (a resume cut short)
   * only queues those.
   */
  async resume(id: string): Promise<CampaignStatus> {
    let epoch: number;
    try {
      ({ epoch } = await this.campaigns.resume(id));
    } catch (error) {
      const campaign = await this.campaigns.get(id);
      const parked = campaign?.state === 'sending' ? await this.campaigns.parked(id) : [];
      if (!(error instanceof DepescheError && error.code === 'E_CONFLICT' && parked.length > 0)) throw error;
      epoch = campaign!.epoch;
    }
    await this.#requeueParked(id, epoch);
    await this.#retryFailed(id);
    const campaign = await this.campaigns.require(id);
    // The fan-out job may be gone (removed on cancel, or out of attempts); its id makes re-adding it safe.
    if (!campaign.fanoutDone && (await this.fanoutQueue.getJob(fanoutJobId(id))) === undefined) {
      await this.fanoutQueue.add('fanout', { campaignId: id }, { ...fanoutJobOptions, jobId: fanoutJobId(id), delay: Math.max(0, campaign.at - Date.now()) });
    }
    return this.status(id);
  }

  async #requeueParked(id: string, epoch: number): Promise<void> {
    const parked = await this.campaigns.parked(id);
    if (parked.length === 0) return;
    const options = batchJobOptions(this.config);
    for (let i = 0; i < parked.length; i += 500) {
      const slice = parked.slice(i, i + 500);
      await this.batchQueue.addBulk(slice.map((data) => ({ name: 'batch', data, opts: { ...options, jobId: batchJobId(id, data.batchNo, epoch) } })));
      await this.campaigns.unpark(id, slice.map((data) => data.batchNo));
    }
  }

  /** Jobs that ran out of attempts (which paused the campaign) get a new round. */
  async #retryFailed(id: string): Promise<void> {
    const prefix = `${id}-`;
    for (const queue of [this.batchQueue, this.fanoutQueue] as Queue<{ campaignId: string }>[]) {
      const failed = [];
      for (let start = 0; ; start += 500) {
        const jobs = await queue.getFailed(start, start + 499);
        failed.push(...jobs.filter((job) => job.id?.startsWith(prefix) && job.data.campaignId === id));
        if (jobs.length < 500) break;
      }
      for (const job of failed) await job.retry('failed', { resetAttemptsMade: true });
    }
  }

  /** Recipients not yet claimed are never sent to; the counts stay as they are. */
  async cancel(id: string, reason = 'cancelled by ops'): Promise<CampaignStatus> {
    await this.campaigns.cancel(id, reason);
    const fanout = await this.fanoutQueue.getJob(fanoutJobId(id));
    if (fanout && (await fanout.isDelayed())) await fanout.remove();
    return this.status(id);
  }

  /**
   * Re-compiles and lints the issue's current files and replaces the frozen editions of
   * a paused or scheduled campaign. Readers already sent to keep what they got; everyone
   * after gets the new text. Workers still holding the old editions learn of the change
   * at their next claim.
   */
  async update(id: string): Promise<UpdateResult> {
    const campaign = await this.campaigns.require(id);
    if (campaign.state !== 'paused' && campaign.state !== 'scheduled') {
      throw new DepescheError('E_CONFLICT', `Campaign ${id} is ${campaign.state}; only a paused or scheduled campaign can be updated.`, {
        hint: campaign.state === 'sending' ? `Pause it first: \`depesche pause ${id}\`.` : 'Start a new send instead.',
      });
    }
    const before = new Map((await this.campaigns.editions(id)).map((e) => [e.lang, e.subject]));
    const warnings: string[] = [];
    const counts = await this.#subscribers.countActiveByLang(campaign.list);
    const editions = await this.#compileChecked(campaign.slug, campaign.list, counts, warnings, campaign.fallback);
    const version = await this.campaigns.updateEditions(id, editions.map(freeze));
    return {
      status: await this.status(id),
      version,
      subjects: editions.map((e) => ({ lang: e.lang, before: before.get(e.lang) ?? null, after: e.subject })),
      warnings,
    };
  }

  async status(id: string): Promise<CampaignStatus> {
    const status = await this.campaigns.status(id);
    const warning = await this.#workerWarning(status.state);
    return warning ? { ...status, warning } : status;
  }

  /** Newest first. */
  async list(limit = 50): Promise<CampaignStatus[]> {
    const ids = await this.campaigns.ids(limit);
    const out: CampaignStatus[] = [];
    let seen: Awaited<ReturnType<typeof workersSeen>> | undefined;
    for (const id of ids) {
      const status = await this.campaigns.status(id).catch(() => null);
      if (!status) continue;
      if (status.state === 'scheduled' || status.state === 'sending') {
        seen ??= await workersSeen(this.#redis, this.keys);
        const warning = noWorkerWarning(seen);
        if (warning) status.warning = warning;
      }
      out.push(status);
    }
    return out;
  }

  async #workerWarning(state: Campaign['state']): Promise<string | undefined> {
    if (state !== 'scheduled' && state !== 'sending') return undefined;
    return noWorkerWarning(await workersSeen(this.#redis, this.keys));
  }

  async unclear(id: string): Promise<UnclearRecipient[]> {
    await this.campaigns.require(id);
    const entries = await this.ledger.unclear(id);
    const subscribers = entries.length ? await this.#subscribers.getMany(entries.map((e) => e.id)) : [];
    return entries.map(({ id: sid, cause }, i) => {
      const s = subscribers[i];
      return { id: sid, email: s?.email ?? null, name: s?.name ?? null, lang: s?.lang ?? null, cause };
    });
  }

  /**
   * Sends on purpose to everyone the ledger holds as unclear (some of them may have got
   * the mail already; that is what unclear means). They are claimed afresh, so each is
   * sent at most once more, and anyone no longer active is skipped.
   */
  async resend(id: string, options: { unclear: true }): Promise<ResendResult> {
    if (options.unclear !== true) throw new DepescheError('E_INPUT', 'Only unclear recipients can be resent.', { hint: 'Use `depesche resend <id> --unclear`.' });
    const campaign = await this.campaigns.require(id);
    if (!campaign.fanoutDone || campaign.state === 'cancelled') {
      throw new DepescheError('E_CONFLICT', `Campaign ${id} is ${campaign.fanoutDone ? campaign.state : 'still fanning out'}; resend once it has walked its list.`, {
        hint: 'Wait until `depesche status` shows it done or paused.',
      });
    }
    const ids = (await this.ledger.unclear(id)).map((e) => e.id);
    if (ids.length === 0) return { recipients: 0, batches: 0 };
    const size = this.config.BATCH_SIZE;
    const count = Math.ceil(ids.length / size);
    const first = await this.campaigns.reserveBatches(id, count);
    await this.campaigns.reopenForResend(id);
    const jobOptions = batchJobOptions(this.config);
    await this.batchQueue.addBulk(
      Array.from({ length: count }, (_, i) => ({
        name: 'batch',
        data: { campaignId: id, batchNo: first + i, ids: ids.slice(i * size, (i + 1) * size), mode: 'resend' as const },
        opts: { ...jobOptions, jobId: batchJobId(id, first + i) },
      })),
    );
    return { recipients: ids.length, batches: count };
  }

  /** For the admin API. */
  resendUnclear(id: string): Promise<ResendResult> {
    return this.resend(id, { unclear: true });
  }

  async close(): Promise<void> {
    await Promise.all([this.fanoutQueue.close(), this.batchQueue.close()]);
    if (this.#ownsRedis) this.#redis.disconnect();
  }

  // MJML and friends load only in processes that create campaigns, never in workers.
  async #compilerFor(): Promise<CampaignCompiler> {
    if (this.#compiler) return this.#compiler;
    const { createCompiler } = await import('../render/index.ts');
    return createCompiler({ contentDir: this.config.CONTENT_DIR, publicUrl: this.config.PUBLIC_URL });
  }
}

function noWorkerWarning(seen: Awaited<ReturnType<typeof workersSeen>>): string | undefined {
  if (seen.alive > 0) return undefined;
  if (seen.lastSeen === null) return 'No worker has ever been seen: nothing is sent until one runs (`depesche worker`).';
  const ago = Date.now() - seen.lastSeen;
  if (ago < NO_WORKER_GRACE_MS) return undefined;
  const minutes = Math.round(ago / 60_000);
  return `No worker seen for ${minutes < 120 ? `${minutes} min` : `${Math.round(minutes / 60)} h`}: nothing is sent until one runs (\`depesche worker\`).`;
}

