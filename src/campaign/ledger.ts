import type { Redis } from 'ioredis';
import type { Keyspace } from '../config/redis.ts';

/**
 * The delivery ledger: per campaign, one state per recipient.
 *
 *   (none) ─claim─▶ c:<run> ─mark─▶ s sent | b bounced | f failed | u unclear
 *                         └─release (4xx, refused connection)─▶ (none), tried again
 *   (none) ─skip─▶ k skipped (not active at send time)
 *
 * The claim is written before the SMTP transaction and the mark after the server's
 * answer. A claim of another run found later means that run died in between: nobody
 * knows whether the mail arrived, so the recipient becomes `u` (unclear) — counted,
 * listed and never resent unless ops ask for it. Claims carry the id of the run that
 * made them so a command that ioredis re-sends after a Redis restart stays idempotent.
 */

export type LedgerOutcome = 'sent' | 'bounced' | 'failed' | 'unclear' | 'skipped';

export type ClaimResult =
  | { kind: 'claimed' }
  /** The recipient was already handled (sent, bounced, failed, skipped or unclear). */
  | { kind: 'done'; state: string }
  /** The rate limit wants a pause of this many milliseconds first. */
  | { kind: 'wait'; ms: number }
  /** The campaign is not sending (paused, cancelled, …). */
  | { kind: 'halt'; state: string };

export interface ClaimOptions {
  /** `resend` claims only recipients held as unclear. */
  mode: 'send' | 'resend';
  /** Global messages per second. */
  globalRate: number;
  /** This campaign's messages per second; 0 for none. */
  campaignRate: number;
}

export interface MarkOptions {
  /** A connection fault counts towards the automatic pause; a server answer resets the count. */
  connectionFailure?: boolean;
  pauseAfter?: number;
  reason?: string;
}

export interface Ledger {
  claim(campaignId: string, run: string, id: string, options: ClaimOptions): Promise<ClaimResult>;
  mark(campaignId: string, run: string, id: string, outcome: LedgerOutcome, options?: MarkOptions): Promise<void>;
  /** Gives a claim back after an answer that proves nothing arrived, so a retry sends it. */
  release(campaignId: string, run: string, id: string, options?: MarkOptions): Promise<void>;
  skip(campaignId: string, id: string, mode: 'send' | 'resend'): Promise<void>;
  /** Records a finished batch; returns the campaign's state afterwards (`done` once all are). */
  batchDone(campaignId: string, batchNo: number): Promise<string>;
  unclear(campaignId: string): Promise<string[]>;
  stateOf(campaignId: string, id: string): Promise<string | null>;
}

const COUNTER: Record<string, string> = { s: 'sent', b: 'bounced', f: 'failed', u: 'unclear' };
const CODE: Record<LedgerOutcome, string> = { sent: 's', bounced: 'b', failed: 'f', unclear: 'u', skipped: 'k' };

// Shared by the scripts: a campaign is done once the list is walked and every batch finished.
const CHECK_DONE = `
local function checkDone(meta, doneSet, now)
  local f = redis.call('HMGET', meta, 'state', 'fanoutDone', 'batches')
  if f[1] == 'sending' and f[2] == '1' and redis.call('SCARD', doneSet) >= tonumber(f[3] or '0') then
    redis.call('HSET', meta, 'state', 'done', 'finishedAt', now)
    return 'done'
  end
  return f[1] or 'missing'
end
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

// KEYS: meta, ledger, unclear set, global bucket, campaign bucket
// ARGV: run, id, mode, globalRate, campaignRate
const CLAIM = `
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'sending' then return {'halt', state or 'missing'} end
local id = ARGV[2]
local mine = 'c:' .. ARGV[1]
local cur = redis.call('HGET', KEYS[2], id)
if cur == mine then return {'claimed'} end
if cur and string.sub(cur, 1, 2) == 'c:' then
  redis.call('HSET', KEYS[2], id, 'u')
  redis.call('SADD', KEYS[3], id)
  redis.call('HINCRBY', KEYS[1], 'unclear', 1)
  return {'done', 'u'}
end
if ARGV[3] == 'resend' then
  if cur ~= 'u' then return {'done', cur or 'none'} end
elseif cur then
  return {'done', cur}
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local wait = 0
local buckets = {}
for i = 1, 2 do
  local rate = tonumber(ARGV[3 + i])
  if rate > 0 then
    local cap = math.max(1, math.ceil(rate / 5))
    local b = redis.call('HMGET', KEYS[3 + i], 'tokens', 'ts')
    local tokens = tonumber(b[1]) or cap
    local ts = tonumber(b[2]) or now
    if now > ts then tokens = math.min(cap, tokens + (now - ts) * rate / 1000) end
    if tokens < 1 then
      wait = math.max(wait, math.ceil((1 - tokens) * 1000 / rate))
    end
    buckets[#buckets + 1] = {KEYS[3 + i], tokens}
  end
end
if wait > 0 then return {'wait', tostring(wait)} end
for _, b in ipairs(buckets) do
  redis.call('HSET', b[1], 'tokens', tostring(b[2] - 1), 'ts', tostring(now))
end
if cur == 'u' then
  redis.call('SREM', KEYS[3], id)
  redis.call('HINCRBY', KEYS[1], 'unclear', -1)
end
redis.call('HSET', KEYS[2], id, mine)
return {'claimed'}
`;

// KEYS: meta, ledger, unclear set, done set
// ARGV: run, id, outcome code ('s','b','f','u','k' or 'r' to release), connFail, pauseAfter, reason
const MARK = `${CHECK_DONE}
local id = ARGV[2]
local cur = redis.call('HGET', KEYS[2], id)
if cur ~= 'c:' .. ARGV[1] then return cur or '' end
local o = ARGV[3]
local now = nowMs()
if o == 'r' then
  redis.call('HDEL', KEYS[2], id)
else
  redis.call('HSET', KEYS[2], id, o)
  local counters = {s = 'sent', b = 'bounced', f = 'failed', u = 'unclear', k = 'skipped'}
  redis.call('HINCRBY', KEYS[1], counters[o], 1)
  redis.call('HSET', KEYS[1], 'lastAt', now)
  if o == 'u' then redis.call('SADD', KEYS[3], id) end
end
if ARGV[4] == '1' then
  local n = redis.call('HINCRBY', KEYS[1], 'connFails', 1)
  if n >= tonumber(ARGV[5]) and redis.call('HGET', KEYS[1], 'state') == 'sending' then
    redis.call('HSET', KEYS[1], 'state', 'paused', 'reason', ARGV[6])
  end
elseif o == 's' or o == 'b' or o == 'r' then
  redis.call('HSET', KEYS[1], 'connFails', 0)
end
return o
`;

// KEYS: meta, ledger, unclear set; ARGV: id, mode
const SKIP = `
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if ARGV[2] == 'resend' then
  if cur ~= 'u' then return 0 end
  redis.call('SREM', KEYS[3], ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'unclear', -1)
elseif cur then
  return 0
end
redis.call('HSET', KEYS[2], ARGV[1], 'k')
redis.call('HINCRBY', KEYS[1], 'skipped', 1)
return 1
`;

// KEYS: meta, done set; ARGV: batchNo
const BATCH_DONE = `${CHECK_DONE}
redis.call('SADD', KEYS[2], ARGV[1])
return checkDone(KEYS[1], KEYS[2], nowMs())
`;

// KEYS: meta, done set; ARGV: expected batch number, next cursor ('' at the end), ids in the page, end flag
const FANOUT_STEP = `${CHECK_DONE}
if tonumber(redis.call('HGET', KEYS[1], 'batches') or '0') ~= tonumber(ARGV[1]) then return 'stale' end
local n = tonumber(ARGV[3])
if n > 0 then
  redis.call('HINCRBY', KEYS[1], 'batches', 1)
  redis.call('HINCRBY', KEYS[1], 'total', n)
end
redis.call('HSET', KEYS[1], 'cursor', ARGV[2])
if ARGV[4] == '1' then
  redis.call('HSET', KEYS[1], 'fanoutDone', '1')
  return checkDone(KEYS[1], KEYS[2], nowMs())
end
return 'ok'
`;

interface Scripts {
  depescheClaim(...args: string[]): Promise<[string, string?]>;
  depescheMark(...args: string[]): Promise<string>;
  depescheSkip(...args: string[]): Promise<number>;
  depescheBatchDone(...args: string[]): Promise<string>;
  depescheFanoutStep(...args: string[]): Promise<string>;
}

/** Keys of one campaign; all under the installation's hash tag, so scripts may touch several. */
export function campaignKeys(keys: Keyspace, id: string) {
  return {
    meta: keys.key('campaign', id),
    editions: keys.key('campaign', id, 'editions'),
    ledger: keys.key('campaign', id, 'ledger'),
    unclear: keys.key('campaign', id, 'unclear'),
    done: keys.key('campaign', id, 'batches-done'),
    bucket: keys.key('campaign', id, 'rate'),
  };
}

/** Registers the ledger's Lua scripts on a connection (idempotent) and returns them typed. */
export function ledgerScripts(redis: Redis): Scripts {
  for (const [name, lua, numberOfKeys] of [
    ['depescheClaim', CLAIM, 5],
    ['depescheMark', MARK, 4],
    ['depescheSkip', SKIP, 3],
    ['depescheBatchDone', BATCH_DONE, 2],
    ['depescheFanoutStep', FANOUT_STEP, 2],
  ] as const) {
    if (!(name in redis)) redis.defineCommand(name, { lua, numberOfKeys });
  }
  return redis as unknown as Scripts;
}

export class RedisLedger implements Ledger {
  readonly #redis: Redis;
  readonly #keys: Keyspace;
  readonly #scripts: Scripts;
  readonly #globalBucket: string;

  constructor(redis: Redis, keys: Keyspace) {
    this.#redis = redis;
    this.#keys = keys;
    this.#scripts = ledgerScripts(redis);
    this.#globalBucket = keys.key('rate', 'global');
  }

  async claim(campaignId: string, run: string, id: string, options: ClaimOptions): Promise<ClaimResult> {
    const k = campaignKeys(this.#keys, campaignId);
    const [kind, detail] = await this.#scripts.depescheClaim(
      k.meta, k.ledger, k.unclear, this.#globalBucket, k.bucket,
      run, id, options.mode, String(options.globalRate), String(options.campaignRate),
    );
    if (kind === 'claimed') return { kind };
    if (kind === 'wait') return { kind, ms: Number(detail) };
    if (kind === 'done') return { kind, state: detail ?? '' };
    return { kind: 'halt', state: detail ?? 'missing' };
  }

  async mark(campaignId: string, run: string, id: string, outcome: LedgerOutcome, options: MarkOptions = {}): Promise<void> {
    await this.#mark(campaignId, run, id, CODE[outcome], options);
  }

  async release(campaignId: string, run: string, id: string, options: MarkOptions = {}): Promise<void> {
    await this.#mark(campaignId, run, id, 'r', options);
  }

  async #mark(campaignId: string, run: string, id: string, code: string, options: MarkOptions): Promise<void> {
    const k = campaignKeys(this.#keys, campaignId);
    await this.#scripts.depescheMark(
      k.meta, k.ledger, k.unclear, k.done,
      run, id, code, options.connectionFailure ? '1' : '0', String(options.pauseAfter ?? 0), options.reason ?? '',
    );
  }

  async skip(campaignId: string, id: string, mode: 'send' | 'resend'): Promise<void> {
    const k = campaignKeys(this.#keys, campaignId);
    await this.#scripts.depescheSkip(k.meta, k.ledger, k.unclear, id, mode);
  }

  async batchDone(campaignId: string, batchNo: number): Promise<string> {
    const k = campaignKeys(this.#keys, campaignId);
    return this.#scripts.depescheBatchDone(k.meta, k.done, String(batchNo));
  }

  async unclear(campaignId: string): Promise<string[]> {
    return (await this.#redis.smembers(campaignKeys(this.#keys, campaignId).unclear)).sort();
  }

  async stateOf(campaignId: string, id: string): Promise<string | null> {
    const state = await this.#redis.hget(campaignKeys(this.#keys, campaignId).ledger, id);
    if (state === null) return null;
    return state.startsWith('c:') ? 'claimed' : (COUNTER[state] ?? (state === 'k' ? 'skipped' : state));
  }
}
