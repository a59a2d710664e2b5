/**
 * The one owner of a campaign's state. Every move between states happens here, through
 * the scripts in `lua/`, each atomic in Redis:
 *
 *               reserve (claims issue+list, before any lint or compile)
 *                  │
 *              preparing ──abandon (lint errors, missing edition; or the ttl runs out)──▶ (gone)
 *                  │ freeze (the editions that were linted)
 *                  ▼
 *   ┌──────── scheduled ──start (fan-out at `at`)──▶ sending ──last batch done──▶ done
 *   │           │   ▲                               │   ▲                          │
 *   │      pause│   │resume (fan-out not begun)     │   │resume (+ done check)     │ resend
 *   │           ▼   │                          pause│   │                          │ unclear
 *   │          paused ◀─────────────────────────────┘   │                          ▼
 *   │           │  └────────────────────────────────────┘                       sending
 *   │           │        auto-pause: N connection failures, a batch out of attempts
 *   └─cancel────┴─cancel─(from sending too)──▶ cancelled
 *
 *   update: paused or scheduled → the same state, with new editions (version + 1).
 *
 * - One live campaign per (issue, list): `reserve` takes the claim with SET NX in the same
 *   script that creates the campaign; done and cancelled give it back. A new plain send
 *   is refused while an earlier campaign of the issue to the list reached anyone;
 *   `--again` sends anyway, `--rest` only to whom no earlier campaign of the issue reached.
 * - Done is checked on every transition that can complete a campaign: the last batch,
 *   the end of the fan-out, and resume.
 * - Batches of a campaign that is not sending park themselves (`park`) rather than poll;
 *   resume hands them back once (`parked`, `unpark`).
 * - The ledger (ledger.ts) owns each recipient's state and only reads the campaign's.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keyspace } from '../config/redis.ts';
import { DepescheError } from '../errors.ts';
import { describePlan, EDITION_FALLBACKS, planEditions, type EditionFallback } from '../core/edition-fallback.ts';
import { isLang, LANGS, type Lang } from '../core/lang.ts';
import type { Edition } from '../core/edition.ts';
import { campaignKeys, sendKeys, type SendKeys } from './keys.ts';
import { describeSkipped, skippedByReason, type SkipReason } from './recipient-decision.ts';
import { campaignScripts, type Scripts } from './scripts.ts';
import { CAMPAIGN_STATES, type BatchJobData, type Campaign, type CampaignState, type CampaignStatus, type DeliveryCounts, type PlanView } from './types.ts';

/** The counters kept in a campaign's hash next to its state. */
export interface CampaignCounters extends DeliveryCounts {
  total: number;
  previously: number;
  batches: number;
  fanoutDone: boolean;
  cursor: string | null;
  lastAt?: number;
  /** How often it was resumed; batches queued again carry it in their job id. */
  epoch: number;
}

export type StoredCampaign = Campaign & CampaignCounters & { skippedBy: Partial<Record<SkipReason, number>> };

/** The part of an edition a send needs, frozen into the campaign once. */
export type FrozenEdition = Pick<Edition, 'slug' | 'lang' | 'subject' | 'preheader' | 'html' | 'text' | 'greeting' | 'title'>;

export function freeze(edition: Edition): FrozenEdition {
  const { slug, lang, subject, preheader, html, text, greeting, title } = edition;
  return { slug, lang, subject, preheader, html, text, greeting, title };
}

export function newCampaignId(): string {
  // Lower-case letters and digits: safe in job ids, keys, URLs and shells.
  return `c${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** Which states each ops transition may start from. */
const TRANSITIONS = {
  pause: ['scheduled', 'sending', 'paused'],
  cancel: ['scheduled', 'sending', 'paused'],
  resume: ['paused'],
  resend: ['done', 'paused', 'sending'],
} as const satisfies Record<string, readonly CampaignState[]>;

/** States whose editions `update` may replace: nothing is being sent from them. */
const UPDATABLE: readonly CampaignState[] = ['paused', 'scheduled'];

/** How long a campaign may stay `preparing` (lint and compile) before its claim lapses. */
const PREPARE_TTL_MS = 10 * 60_000;

export type SendMode = 'new' | 'again' | 'rest';

export interface Reservation {
  id: string;
  slug: string;
  list: string;
  mode: SendMode;
  createdAt: number;
  at: number;
  zone?: string;
  rate?: number;
  expected: number;
  /** Active members by language, for the edition plan `status` shows. */
  readers?: Record<Lang, number>;
  /** EDITION_FALLBACK, kept with the campaign so a changed setting never changes a send under way. @defaultValue `other` */
  fallback?: EditionFallback;
  /** Earlier campaigns of the issue a send to the rest leaves readers of out. */
  restOf?: string[];
}

const num = (value: string | undefined): number | undefined => (value === undefined || value === '' ? undefined : Number(value));

function parseReaders(json: string | undefined): Record<Lang, number> {
  let parsed: Record<string, unknown> = {};
  try {
    parsed = json ? (JSON.parse(json) as Record<string, unknown>) : {};
  } catch {
    // A campaign from before readers were stored: no plan to show.
  }
  return Object.fromEntries(LANGS.map((lang) => [lang, Number(parsed[lang] ?? 0) || 0])) as Record<Lang, number>;
}

function parseCampaign(hash: Record<string, string>): StoredCampaign | null {
  if (!hash.id) return null;
  const state = CAMPAIGN_STATES.includes(hash.state as CampaignState) ? (hash.state as CampaignState) : 'paused';
  const campaign: StoredCampaign = {
    id: hash.id,
    slug: hash.slug ?? '',
    list: hash.list ?? '',
    state,
    createdAt: Number(hash.createdAt),
    at: Number(hash.at),
    langs: (hash.langs ?? '').split(',').filter(isLang),
    expected: Number(hash.expected ?? 0),
    readers: parseReaders(hash.readers),
    // Campaigns from before the policy was stored had an edition for every reader.
    fallback: EDITION_FALLBACKS.includes(hash.fallback as EditionFallback) ? (hash.fallback as EditionFallback) : 'other',
    skippedBy: skippedByReason(hash),
    version: Number(hash.ver ?? 1),
    total: Number(hash.total ?? 0),
    sent: Number(hash.sent ?? 0),
    failed: Number(hash.failed ?? 0),
    bounced: Number(hash.bounced ?? 0),
    skipped: Number(hash.skipped ?? 0),
    unclear: Number(hash.unclear ?? 0),
    previously: Number(hash.previously ?? 0),
    batches: Number(hash.batches ?? 0),
    fanoutDone: hash.fanoutDone === '1',
    cursor: hash.cursor ? hash.cursor : null,
    epoch: Number(hash.epoch ?? 0),
  };
  if (hash.reason) campaign.reason = hash.reason;
  if (hash.zone) campaign.zone = hash.zone;
  if (hash.restOf) campaign.restOf = hash.restOf.split(',');
  const rate = num(hash.rate);
  if (rate) campaign.rate = rate;
  const startedAt = num(hash.startedAt);
  if (startedAt) campaign.startedAt = startedAt;
  const finishedAt = num(hash.finishedAt);
  if (finishedAt) campaign.finishedAt = finishedAt;
  const lastAt = num(hash.lastAt);
  if (lastAt) campaign.lastAt = lastAt;
  return campaign;
}

/** Who gets which edition, for the dry run and `status`; before the editions are frozen, nobody yet. */
export function planView(langs: readonly Lang[], readers: Partial<Record<Lang, number>>, policy: EditionFallback): PlanView {
  if (langs.length === 0) return { byEdition: {}, fallback: {}, skipped: {}, total: 0, policy, summary: 'editions not frozen yet' };
  return { ...planEditions(langs, readers, policy), policy, summary: describePlan(langs, readers, policy) };
}

/** Derived figures for ops: what is left, how fast it goes, when it ends. */
export function statusOf(c: StoredCampaign, parked = 0, now = Date.now()): CampaignStatus {
  const total = c.fanoutDone ? c.total : Math.max(c.total, c.expected);
  const answered = c.sent + c.failed + c.bounced;
  const handled = answered + c.skipped + c.unclear + c.previously;
  const remaining = Math.max(0, total - handled);
  const end = c.finishedAt ?? (c.state === 'sending' ? now : (c.lastAt ?? now));
  const seconds = c.startedAt ? Math.max(0.001, (end - c.startedAt) / 1000) : 0;
  const rate = seconds > 0 ? answered / seconds : 0;
  const status: CampaignStatus = {
    id: c.id,
    slug: c.slug,
    list: c.list,
    state: c.state,
    total,
    sent: c.sent,
    failed: c.failed,
    bounced: c.bounced,
    skipped: c.skipped,
    skippedBy: c.skippedBy,
    skippedText: describeSkipped(c.skipped, c.skippedBy),
    unclear: c.unclear,
    previously: c.previously,
    remaining,
    plan: planView(c.langs, c.readers, c.fallback),
    rate: Math.round(rate * 10) / 10,
    eta: c.state === 'done' ? 0 : c.state === 'sending' && rate > 0 ? Math.ceil(remaining / rate) : null,
    createdAt: new Date(c.createdAt).toISOString(),
    at: new Date(c.at).toISOString(),
    fannedOut: c.fanoutDone,
    parked,
    version: c.version,
  };
  if (c.zone) status.zone = c.zone;
  if (c.reason) status.reason = c.reason;
  if (c.startedAt) status.startedAt = new Date(c.startedAt).toISOString();
  if (c.finishedAt) status.finishedAt = new Date(c.finishedAt).toISOString();
  return status;
}

const notFound = (id: string) =>
  new DepescheError('E_NOT_FOUND', `No campaign with id ${id}.`, { hint: 'Run `depesche status` to list campaigns and their ids.' });

/** Campaigns in Redis: their states, frozen editions (stored once) and the index for `status`. */
export class CampaignRepository {
  readonly #redis: Redis;
  readonly #keys: Keyspace;
  readonly #send: SendKeys;
  readonly #scripts: Scripts;

  constructor(redis: Redis, keys: Keyspace) {
    this.#redis = redis;
    this.#keys = keys;
    this.#send = sendKeys(keys);
    this.#scripts = campaignScripts(redis);
  }

  #k(id: string) {
    return campaignKeys(this.#keys, id);
  }

  // ── Reads (the archive reads finished campaigns through these) ──────────────────

  /** Campaign ids, newest first. */
  async ids(limit = 100): Promise<string[]> {
    return this.#redis.zrevrange(this.#send.index, 0, limit - 1);
  }

  /** One campaign with its counters (slug, list, state, finishedAt, …), or null. */
  async get(id: string): Promise<StoredCampaign | null> {
    return parseCampaign(await this.#redis.hgetall(this.#k(id).meta));
  }

  async require(id: string): Promise<StoredCampaign> {
    const campaign = await this.get(id);
    if (!campaign) throw notFound(id);
    return campaign;
  }

  /** The frozen editions, one per language: exactly what was (or is being) sent. */
  async editions(id: string): Promise<FrozenEdition[]> {
    const hash = await this.#redis.hgetall(this.#k(id).editions);
    return Object.values(hash).map((json) => JSON.parse(json) as FrozenEdition);
  }

  /** Every campaign ever made of an issue, to any list. */
  async history(slug: string): Promise<string[]> {
    return (await this.#redis.smembers(this.#send.history(slug))).sort();
  }

  async status(id: string): Promise<CampaignStatus> {
    const [campaign, parked] = await Promise.all([this.require(id), this.#redis.hlen(this.#k(id).parked)]);
    return statusOf(campaign, parked);
  }

  // ── Creating ────────────────────────────────────────────────────────────────────

  /**
   * Creates the campaign as `preparing` and claims the issue+list for it, atomically:
   * of two sends at once, exactly one gets here. Throws E_CONFLICT naming the campaign
   * that holds the claim, or (for a plain send) the one that already reached the list.
   */
  async reserve(r: Reservation): Promise<void> {
    const fields: Record<string, string> = {
      id: r.id,
      slug: r.slug,
      list: r.list,
      createdAt: String(r.createdAt),
      at: String(r.at),
      zone: r.zone ?? '',
      expected: String(r.expected),
      readers: JSON.stringify(r.readers ?? {}),
      fallback: r.fallback ?? 'other',
      rate: String(r.rate ?? ''),
      restOf: (r.restOf ?? []).join(','),
      total: '0',
      batches: '0',
      cursor: '',
    };
    for (let attempt = 0; attempt < 5; attempt++) {
      const earlier = await this.history(r.slug);
      const keys = [this.#k(r.id).meta, this.#send.live(r.slug, r.list), this.#send.history(r.slug)];
      for (const other of earlier) keys.push(this.#k(other).meta, this.#k(other).ledger);
      const [result, other] = await this.#scripts.run<[string, string?]>('create', keys, [
        r.id, r.list, r.mode, PREPARE_TTL_MS, earlier.length, ...Object.entries(fields).flat(),
      ]);
      if (result === 'ok') return;
      if (result === 'retry') continue;
      const holder = other ? await this.get(other) : null;
      if (result === 'live') {
        throw new DepescheError('E_CONFLICT', `Issue ${r.slug} is already being sent to list ${r.list}: campaign ${other} is ${holder?.state ?? 'being prepared'}.`, {
          hint: `Follow it with \`depesche status ${other}\`; pause, update or cancel it there. One campaign per issue and list runs at a time.`,
        });
      }
      throw new DepescheError('E_CONFLICT', `Issue ${r.slug} was already sent to list ${r.list} (campaign ${other}, ${holder?.state ?? 'gone'}).`, {
        hint: `Send only to the readers it did not reach with --rest, to everyone once more with --again, or check \`depesche status ${other}\`.`,
      });
    }
    throw new DepescheError('E_CONFLICT', `Campaigns of issue ${r.slug} keep changing; try again.`);
  }

  /** preparing → scheduled, with exactly the editions that were linted. */
  async freeze(id: string, slug: string, list: string, editions: FrozenEdition[]): Promise<void> {
    const k = this.#k(id);
    const result = await this.#scripts.run<string>(
      'freeze',
      [k.meta, k.editions, this.#send.live(slug, list), this.#send.index, this.#send.history(slug)],
      [id, Date.now(), editions.map((e) => e.lang).join(','), ...editions.flatMap((e) => [e.lang, JSON.stringify(e)])],
    );
    if (result !== 'ok') {
      throw new DepescheError('E_CONFLICT', `Campaign ${id} took longer than ${PREPARE_TTL_MS / 60_000} minutes to prepare and lost its claim on ${slug} → ${list}.`, {
        hint: 'Send again.',
      });
    }
  }

  /** A preparation that failed: the campaign vanishes and the issue+list is free again. */
  async abandon(id: string, slug: string, list: string): Promise<void> {
    await this.#scripts.run('abandon', [this.#k(id).meta, this.#send.live(slug, list)], [id]);
  }

  // ── Ops transitions ─────────────────────────────────────────────────────────────

  async #transition(id: string, action: keyof typeof TRANSITIONS | 'auto-pause', reason: string): Promise<{ state: CampaignState; epoch: number }> {
    const campaign = await this.require(id);
    const from = action === 'auto-pause' ? ['sending'] : TRANSITIONS[action];
    const k = this.#k(id);
    const [result, detail, epoch] = await this.#scripts.run<[string, string?, string?]>(
      'transition',
      [k.meta, this.#send.live(campaign.slug, campaign.list), k.done, k.parked],
      [id, action === 'auto-pause' ? 'pause' : action, from.join(','), reason, Date.now()],
    );
    if (result === 'missing') throw notFound(id);
    if (result === 'live') {
      throw new DepescheError('E_CONFLICT', `Campaign ${detail} of the same issue and list is live; ${id} cannot send again meanwhile.`, {
        hint: `Wait for ${detail} to finish, or cancel it.`,
      });
    }
    if (result === 'refused') {
      throw new DepescheError('E_CONFLICT', `Campaign ${id} is ${detail}; it cannot ${action === 'resend' ? 'send again' : action} from there.`, {
        hint: 'Check it with `depesche status <id>`.',
      });
    }
    return { state: detail as CampaignState, epoch: Number(epoch ?? 0) };
  }

  /** Takes effect before the next recipient in every worker. */
  async pause(id: string, reason: string): Promise<void> {
    await this.#transition(id, 'pause', reason);
  }

  /**
   * The campaign pauses itself (connection failures, a batch out of attempts): only from
   * sending, so it never overrides ops who paused or cancelled it meanwhile. Returns
   * whether it paused.
   */
  async autoPause(id: string, reason: string): Promise<boolean> {
    try {
      await this.#transition(id, 'auto-pause', reason);
      return true;
    } catch (error) {
      if (error instanceof DepescheError && error.code === 'E_CONFLICT') return false;
      throw error;
    }
  }

  /** Back to sending (or scheduled, when the fan-out has not begun); may complete it at once. */
  async resume(id: string): Promise<{ state: CampaignState; epoch: number }> {
    return this.#transition(id, 'resume', '');
  }

  async cancel(id: string, reason: string): Promise<void> {
    await this.#transition(id, 'cancel', reason);
  }

  /** A done campaign sends again (its unclear recipients, on purpose); it is live meanwhile. */
  async reopenForResend(id: string): Promise<void> {
    await this.#transition(id, 'resend', '');
  }

  /** Replaces the editions of a paused or scheduled campaign; returns their new version. */
  async updateEditions(id: string, editions: FrozenEdition[]): Promise<number> {
    const k = this.#k(id);
    const [result, detail] = await this.#scripts.run<[string, string?]>(
      'update',
      [k.meta, k.editions],
      [UPDATABLE.join(','), editions.map((e) => e.lang).join(','), ...editions.flatMap((e) => [e.lang, JSON.stringify(e)])],
    );
    if (result === 'missing') throw notFound(id);
    if (result === 'refused') {
      throw new DepescheError('E_CONFLICT', `Campaign ${id} is ${detail}; only a paused or scheduled campaign can be updated.`, {
        hint: detail === 'sending' ? `Pause it first: \`depesche pause ${id}\`.` : 'Start a new send instead.',
      });
    }
    return Number(detail);
  }

  // ── The worker's steps ──────────────────────────────────────────────────────────

  /** The fan-out begins: returns the state it found or made. */
  async start(id: string): Promise<string> {
    return this.#scripts.run<string>('start', [this.#k(id).meta], [Date.now()]);
  }

  /**
   * Saves fan-out progress after `batches` batch jobs (of `count` ids in all) were added
   * from `firstBatch` on, only if nobody saved it first (`stale` then). With
   * deterministic job ids, a fan-out restarted between adding and saving re-adds the
   * same job ids, which BullMQ ignores.
   */
  async fanoutStep(campaign: Pick<Campaign, 'id' | 'slug' | 'list'>, firstBatch: number, batches: number, next: string | null, count: number): Promise<string> {
    const k = this.#k(campaign.id);
    return this.#scripts.run<string>(
      'fanout-step',
      [k.meta, k.done, k.parked, this.#send.live(campaign.slug, campaign.list)],
      [campaign.id, firstBatch, next ?? '', count, next === null ? '1' : '0', Date.now(), batches],
    );
  }

  /** Records a finished batch; returns the campaign's state afterwards (`done` once all are). */
  async batchDone(campaign: Pick<Campaign, 'id' | 'slug' | 'list'>, batchNo: number): Promise<string> {
    const k = this.#k(campaign.id);
    return this.#scripts.run<string>('batch-done', [k.meta, k.done, k.parked, this.#send.live(campaign.slug, campaign.list)], [campaign.id, batchNo, Date.now()]);
  }

  /** Puts a batch aside while its campaign is not sending: 'parked', or the state that prevented it. */
  async park(data: BatchJobData): Promise<string> {
    const k = this.#k(data.campaignId);
    return this.#scripts.run<string>('park', [k.meta, k.parked], [data.batchNo, JSON.stringify(data)]);
  }

  /** The parked batches, for resume to queue again. */
  async parked(id: string): Promise<BatchJobData[]> {
    const hash = await this.#redis.hgetall(this.#k(id).parked);
    return Object.values(hash).map((json) => JSON.parse(json) as BatchJobData);
  }

  /** Forgets parked batches once they are queued again. */
  async unpark(id: string, batchNos: number[]): Promise<void> {
    if (batchNos.length > 0) await this.#redis.hdel(this.#k(id).parked, ...batchNos.map(String));
  }

  /** Reserves batch numbers for a resend; returns the first. */
  async reserveBatches(id: string, count: number): Promise<number> {
    const after = await this.#redis.hincrby(this.#k(id).meta, 'batches', count);
    return after - count;
  }
}
