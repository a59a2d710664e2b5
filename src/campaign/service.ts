import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createRedis, keyspace, type Keyspace } from '../config/redis.ts';
import type { Config } from '../config/schema.ts';
import { DepescheError } from '../errors.ts';
import type { Finding } from '../render/index.ts';
import { LANGS, type Lang } from '../core/lang.ts';
import type { Edition } from '../core/edition.ts';
import { CampaignRepository, newCampaignId, type FrozenEdition } from './campaigns.ts';
import { batchJobId } from './fanout.ts';
import { RedisLedger } from './ledger.ts';
import { BATCH_QUEUE, batchJobOptions, FANOUT_QUEUE, fanoutJobOptions } from './queues.ts';
import type { BatchJobData, Campaign, CampaignStatus, CampaignSubscribers, FanoutJobData } from './types.ts';

export interface CampaignCompiler {
  compile(slug: string): Promise<Edition[]>;
  lint(slug: string): Promise<Pick<Finding, 'severity' | 'message' | 'rule' | 'file' | 'line'>[]>;
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
  /** ISO 8601 time or Date; absent or past sends now. */
  at?: string | Date;
  /** Messages per second for this campaign; SEND_RATE caps all campaigns together. */
  rate?: number;
  /** Send an issue to a list that already got it. */
  again?: boolean;
  /** Only count who would get which language. */
  dryRun?: boolean;
}

export interface CreateCampaignResult {
  /** Null for a dry run. */
  id: string | null;
  dryRun: boolean;
  state: Campaign['state'] | 'dry-run';
  at: string;
  /** Active members by language, who the send is for. */
  counts: Record<Lang, number>;
  total: number;
  langs: Lang[];
  /** Lint warnings (errors refuse the send). */
  warnings: string[];
}

export interface UnclearRecipient {
  id: string;
  email: string | null;
  name: string | null;
  lang: Lang | null;
}

export interface ResendResult {
  recipients: number;
  batches: number;
}

const fanoutJobId = (id: string) => `${id}-fanout`;

/**
 * What ops do with campaigns, for the CLI and the admin API alike: create (lint, compile
 * once, freeze, schedule), pause, resume, cancel, status, and resending on purpose to
 * recipients the ledger holds as unclear.
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

  async create(options: CreateCampaignOptions): Promise<CreateCampaignResult> {
    const { slug, list } = options;
    const at = parseAt(options.at);
    if (options.rate !== undefined && (!Number.isInteger(options.rate) || options.rate < 1)) {
      throw new DepescheError('E_INPUT', `The rate must be a whole number of messages per second, got ${options.rate}.`);
    }
    if (!(await this.#subscribers.listExists(list))) {
      throw new DepescheError('E_NOT_FOUND', `There is no list "${list}".`, { hint: 'See the lists with `depesche subscribers lists`.' });
    }
    if (!options.dryRun && !options.again) {
      const previous = await this.campaigns.previousSend(list, slug);
      if (previous) {
        throw new DepescheError('E_CONFLICT', `Issue ${slug} was already sent to list ${list} (campaign ${previous}).`, {
          hint: 'Add --again to send it to the list once more, or check `depesche status ' + previous + '`.',
        });
      }
    }
    const compiler = await this.#compilerFor();
    const findings = await compiler.lint(slug);
    const errors = findings.filter((f) => f.severity === 'error');
    if (errors.length > 0) {
      const lines = errors.map((f) => `  ${f.file ? `${f.file}${f.line ? `:${f.line}` : ''}: ` : ''}${f.message}`);
      throw new DepescheError('E_LINT', `Issue ${slug} has ${errors.length} lint error(s); not sending:\n${lines.join('\n')}`, {
        hint: `Fix them and check with \`depesche lint ${slug}\`.`,
      });
    }
    const editions = await compiler.compile(slug);
    const counts = await this.#subscribers.countActiveByLang(list);
    const langs = editions.map((e) => e.lang);
    for (const lang of LANGS) {
      if (counts[lang] > 0 && !langs.includes(lang)) {
        throw new DepescheError('E_CONTENT', `Issue ${slug} has no ${lang} edition, but ${counts[lang]} active subscriber(s) of ${list} read ${lang}.`, {
          hint: `Write issues/${slug}/${lang}.md, or move those subscribers to another language.`,
        });
      }
    }
    const total = LANGS.reduce((sum, lang) => sum + counts[lang], 0);
    const warnings = findings.filter((f) => f.severity !== 'error').map((f) => f.message);
    if (options.dryRun) {
      return { id: null, dryRun: true, state: 'dry-run', at: new Date(at).toISOString(), counts, total, langs, warnings };
    }
    const now = Date.now();
    const campaign: Campaign = {
      id: newCampaignId(),
      slug,
      list,
      state: at > now ? 'scheduled' : 'sending',
      createdAt: now,
      at,
      langs,
      expected: total,
      ...(options.rate ? { rate: options.rate } : {}),
    };
    // Start as scheduled either way: the fan-out switches to sending and starts the clock.
    await this.campaigns.create({ ...campaign, state: 'scheduled' }, editions.map(freeze));
    await this.fanoutQueue.add('fanout', { campaignId: campaign.id }, { ...fanoutJobOptions, jobId: fanoutJobId(campaign.id), delay: Math.max(0, at - now) });
    return { id: campaign.id, dryRun: false, state: 'scheduled', at: new Date(at).toISOString(), counts, total, langs, warnings };
  }

  /** Takes effect before the next recipient in every worker. */
  async pause(id: string, reason = 'paused by ops'): Promise<CampaignStatus> {
    await this.campaigns.transition(id, ['sending', 'scheduled', 'paused'], 'paused', reason);
    return this.status(id);
  }

  async resume(id: string): Promise<CampaignStatus> {
    await this.campaigns.transition(id, ['paused'], 'resume');
    await this.#promote(id);
    return this.status(id);
  }

  /** Recipients not yet claimed are never sent to; the counts stay as they are. */
  async cancel(id: string, reason = 'cancelled by ops'): Promise<CampaignStatus> {
    await this.campaigns.transition(id, ['sending', 'scheduled', 'paused'], 'cancelled', reason);
    const fanout = await this.fanoutQueue.getJob(fanoutJobId(id));
    if (fanout && (await fanout.isDelayed())) await fanout.remove().catch(() => {});
    await this.#promote(id);
    return this.status(id);
  }

  async status(id: string): Promise<CampaignStatus> {
    return this.campaigns.status(id);
  }

  /** Newest first. */
  async list(limit = 50): Promise<CampaignStatus[]> {
    const ids = await this.campaigns.ids(limit);
    const out: CampaignStatus[] = [];
    for (const id of ids) {
      const campaign = await this.campaigns.get(id);
      if (campaign) out.push(await this.campaigns.status(id));
    }
    return out;
  }

  async unclear(id: string): Promise<UnclearRecipient[]> {
    await this.campaigns.require(id);
    const ids = await this.ledger.unclear(id);
    const subscribers = ids.length ? await this.#subscribers.getMany(ids) : [];
    return ids.map((sid, i) => {
      const s = subscribers[i];
      return { id: sid, email: s?.email ?? null, name: s?.name ?? null, lang: s?.lang ?? null };
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
    const ids = await this.ledger.unclear(id);
    if (ids.length === 0) return { recipients: 0, batches: 0 };
    const size = this.config.BATCH_SIZE;
    const count = Math.ceil(ids.length / size);
    const first = await this.campaigns.reserveBatches(id, count);
    if (campaign.state === 'done') await this.campaigns.transition(id, ['done'], 'sending');
    const options_ = batchJobOptions(this.config);
    for (let i = 0; i < count; i++) {
      const batchNo = first + i;
      await this.batchQueue.add('batch', { campaignId: id, batchNo, ids: ids.slice(i * size, (i + 1) * size), mode: 'resend' }, { ...options_, jobId: batchJobId(id, batchNo) });
    }
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

  /**
   * Batches of a paused campaign wait as delayed jobs; wake them now rather than at their
   * next look. Jobs that ran out of attempts (which paused the campaign) get a new round.
   */
  async #promote(id: string): Promise<void> {
    const prefix = `${id}-`;
    for (let start = 0; ; start += 500) {
      const jobs = await this.batchQueue.getDelayed(start, start + 499);
      for (const job of jobs) {
        if (job.id?.startsWith(prefix) && job.data.campaignId === id) await job.promote().catch(() => {});
      }
      if (jobs.length < 500) break;
    }
    for (const queue of [this.batchQueue, this.fanoutQueue] as Queue<{ campaignId: string }>[]) {
      const failed = [];
      for (let start = 0; ; start += 500) {
        const jobs = await queue.getFailed(start, start + 499);
        failed.push(...jobs.filter((job) => job.id?.startsWith(prefix) && job.data.campaignId === id));
        if (jobs.length < 500) break;
      }
      for (const job of failed) await job.retry('failed', { resetAttemptsMade: true }).catch(() => {});
    }
  }
}

function freeze(edition: Edition): FrozenEdition {
  const { slug, lang, subject, preheader, html, text, greeting, title } = edition;
  return { slug, lang, subject, preheader, html, text, greeting, title };
}

function parseAt(at: string | Date | undefined): number {
  if (at === undefined) return Date.now();
  const time = at instanceof Date ? at.getTime() : Date.parse(at);
  if (Number.isNaN(time)) {
    throw new DepescheError('E_INPUT', `"${String(at)}" is not a time.`, { hint: 'Give an ISO 8601 time such as 2026-11-27T07:00:00+01:00.' });
  }
  return time;
}
