import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keyspace } from '../config/redis.ts';
import { DepescheError } from '../errors.ts';
import { isLang } from '../core/lang.ts';
import type { Edition } from '../core/edition.ts';
import { campaignKeys, ledgerScripts } from './ledger.ts';
import { CAMPAIGN_STATES, type Campaign, type CampaignState, type CampaignStatus, type DeliveryCounts } from './types.ts';

/** The counters kept in a campaign's hash next to its state. */
export interface CampaignCounters extends DeliveryCounts {
  total: number;
  batches: number;
  fanoutDone: boolean;
  cursor: string | null;
  lastAt?: number;
}

/** The part of an edition a send needs, frozen into the campaign once. */
export type FrozenEdition = Pick<Edition, 'slug' | 'lang' | 'subject' | 'preheader' | 'html' | 'text' | 'greeting' | 'title'>;

export function newCampaignId(): string {
  // Lower-case letters and digits: safe in job ids, keys, URLs and shells.
  return `c${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

const num = (value: string | undefined): number | undefined => (value === undefined || value === '' ? undefined : Number(value));

function parseCampaign(hash: Record<string, string>): (Campaign & CampaignCounters) | null {
  if (!hash.id) return null;
  const state = CAMPAIGN_STATES.includes(hash.state as CampaignState) ? (hash.state as CampaignState) : 'paused';
  const campaign: Campaign & CampaignCounters = {
    id: hash.id,
    slug: hash.slug ?? '',
    list: hash.list ?? '',
    state,
    createdAt: Number(hash.createdAt),
    at: Number(hash.at),
    langs: (hash.langs ?? '').split(',').filter(isLang),
    expected: Number(hash.expected ?? 0),
    total: Number(hash.total ?? 0),
    sent: Number(hash.sent ?? 0),
    failed: Number(hash.failed ?? 0),
    bounced: Number(hash.bounced ?? 0),
    skipped: Number(hash.skipped ?? 0),
    unclear: Number(hash.unclear ?? 0),
    batches: Number(hash.batches ?? 0),
    fanoutDone: hash.fanoutDone === '1',
    cursor: hash.cursor ? hash.cursor : null,
  };
  if (hash.reason) campaign.reason = hash.reason;
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

/** Derived figures for ops: what is left, how fast it goes, when it ends. */
export function statusOf(c: Campaign & CampaignCounters, now = Date.now()): CampaignStatus {
  const total = c.fanoutDone ? c.total : Math.max(c.total, c.expected);
  const answered = c.sent + c.failed + c.bounced;
  const handled = answered + c.skipped + c.unclear;
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
    unclear: c.unclear,
    remaining,
    rate: Math.round(rate * 10) / 10,
    eta: c.state === 'done' ? 0 : c.state === 'sending' && rate > 0 ? Math.ceil(remaining / rate) : null,
    createdAt: new Date(c.createdAt).toISOString(),
    at: new Date(c.at).toISOString(),
    fannedOut: c.fanoutDone,
  };
  if (c.reason) status.reason = c.reason;
  if (c.startedAt) status.startedAt = new Date(c.startedAt).toISOString();
  if (c.finishedAt) status.finishedAt = new Date(c.finishedAt).toISOString();
  return status;
}

const notFound = (id: string) =>
  new DepescheError('E_NOT_FOUND', `No campaign with id ${id}.`, { hint: 'Run `depesche status` to list campaigns and their ids.' });

// KEYS: meta; ARGV: allowed states (comma list), new state, reason ('' clears it)
const TRANSITION = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return {'missing'} end
local allowed = ',' .. ARGV[1] .. ','
if not string.find(allowed, ',' .. state .. ',', 1, true) then return {'refused', state} end
local target = ARGV[2]
if target == 'resume' then
  if redis.call('HGET', KEYS[1], 'startedAt') then target = 'sending' else target = 'scheduled' end
end
redis.call('HSET', KEYS[1], 'state', target, 'reason', ARGV[3])
if target == 'sending' then redis.call('HSET', KEYS[1], 'connFails', 0) end
return {'ok', target}
`;

// KEYS: meta; ARGV: now — the fan-out starting: scheduled becomes sending, the clock starts once.
const START = `
local state = redis.call('HGET', KEYS[1], 'state')
if not state then return 'missing' end
if not redis.call('HGET', KEYS[1], 'startedAt') then redis.call('HSET', KEYS[1], 'startedAt', ARGV[1]) end
if state == 'scheduled' then
  redis.call('HSET', KEYS[1], 'state', 'sending')
  return 'sending'
end
return state
`;

/** Campaigns in Redis: the model, its frozen editions (stored once), and the index for `status`. */
export class CampaignRepository {
  readonly #redis: Redis;
  readonly #keys: Keyspace;

  constructor(redis: Redis, keys: Keyspace) {
    this.#redis = redis;
    this.#keys = keys;
    ledgerScripts(redis);
    if (!('depescheTransition' in redis)) redis.defineCommand('depescheTransition', { lua: TRANSITION, numberOfKeys: 1 });
    if (!('depescheStart' in redis)) redis.defineCommand('depescheStart', { lua: START, numberOfKeys: 1 });
  }

  #sentKey(list: string, slug: string): string {
    return this.#keys.key('sent', list, slug);
  }

  /** The campaign that last sent `slug` to `list`, if any. */
  async previousSend(list: string, slug: string): Promise<string | null> {
    return this.#redis.get(this.#sentKey(list, slug));
  }

  async create(campaign: Campaign, editions: FrozenEdition[]): Promise<void> {
    const k = campaignKeys(this.#keys, campaign.id);
    const fields: Record<string, string> = {
      id: campaign.id,
      slug: campaign.slug,
      list: campaign.list,
      state: campaign.state,
      createdAt: String(campaign.createdAt),
      at: String(campaign.at),
      langs: campaign.langs.join(','),
      expected: String(campaign.expected),
      rate: String(campaign.rate ?? ''),
      total: '0',
      batches: '0',
      cursor: '',
    };
    const multi = this.#redis.multi();
    if (editions.length > 0) multi.hset(k.editions, Object.fromEntries(editions.map((e) => [e.lang, JSON.stringify(e)])));
    multi.hset(k.meta, fields);
    multi.zadd(this.#keys.key('campaigns'), campaign.createdAt, campaign.id);
    multi.set(this.#sentKey(campaign.list, campaign.slug), campaign.id);
    await multi.exec();
  }

  async get(id: string): Promise<(Campaign & CampaignCounters) | null> {
    return parseCampaign(await this.#redis.hgetall(campaignKeys(this.#keys, id).meta));
  }

  async require(id: string): Promise<Campaign & CampaignCounters> {
    const campaign = await this.get(id);
    if (!campaign) throw notFound(id);
    return campaign;
  }

  /** Newest first. */
  async ids(limit = 100): Promise<string[]> {
    return this.#redis.zrevrange(this.#keys.key('campaigns'), 0, limit - 1);
  }

  async editions(id: string): Promise<FrozenEdition[]> {
    const hash = await this.#redis.hgetall(campaignKeys(this.#keys, id).editions);
    return Object.values(hash).map((json) => JSON.parse(json) as FrozenEdition);
  }

  /**
   * Moves a campaign from one of `from` to `to` atomically. `resume` goes back to
   * `sending`, or `scheduled` when the fan-out has not started.
   */
  async transition(id: string, from: CampaignState[], to: CampaignState | 'resume', reason = ''): Promise<CampaignState> {
    const [result, detail] = (await (this.#redis as unknown as { depescheTransition(...a: string[]): Promise<string[]> }).depescheTransition(
      campaignKeys(this.#keys, id).meta, from.join(','), to, reason,
    )) as [string, string?];
    if (result === 'missing') throw notFound(id);
    if (result === 'refused') {
      throw new DepescheError('E_CONFLICT', `Campaign ${id} is ${detail}; it cannot ${to === 'resume' ? 'resume' : `become ${to}`} from there.`, {
        hint: 'Check it with `depesche status <id>`.',
      });
    }
    return detail as CampaignState;
  }

  /** The fan-out begins: returns the state it found or made. */
  async start(id: string): Promise<string> {
    return (this.#redis as unknown as { depescheStart(...a: string[]): Promise<string> }).depescheStart(
      campaignKeys(this.#keys, id).meta, String(Date.now()),
    );
  }

  /**
   * Saves fan-out progress after a batch job was added, only if nobody saved it first
   * (`stale` then). With deterministic job ids, a fan-out restarted between adding and
   * saving re-adds the same job id, which BullMQ ignores.
   */
  async fanoutStep(id: string, batchNo: number, next: string | null, count: number): Promise<string> {
    const k = campaignKeys(this.#keys, id);
    return ledgerScripts(this.#redis).depescheFanoutStep(k.meta, k.done, String(batchNo), next ?? '', String(count), next === null ? '1' : '0');
  }

  /** Reserves batch numbers for a resend; returns the first. */
  async reserveBatches(id: string, count: number): Promise<number> {
    const after = await this.#redis.hincrby(campaignKeys(this.#keys, id).meta, 'batches', count);
    return after - count;
  }

  async status(id: string): Promise<CampaignStatus> {
    return statusOf(await this.require(id));
  }
}
