import type { Redis } from 'ioredis';
import type { Keyspace } from '../config/redis.ts';
import { DepescheError } from '../errors.ts';
import { LANGS, type Lang } from '../core/lang.ts';
import { SUBSCRIBER_STATUSES, type Consent, type ListPage, type Subscriber, type SubscriberStatus, type SubscriberStore } from './types.ts';
import { checkListName, checkName, emailKey, normalizeEmail } from './validate.ts';

/**
 * Subscribers and lists in Redis. Layout, all under the keyspace's hash tag:
 *
 * - `sub:<id>`            hash: email, name, lang, status, timestamps (epoch ms), consent fields,
 *                         and one `l:<list>` field per list holding the member's join sequence
 * - `sub:<id>:log`        list of JSON consent events (signup, confirmation sent, confirmed, …)
 * - `email`               hash: lower-cased address → id, the case-insensitive unique index
 * - `sub:seq`, `join:seq` counters for ids and for the order members joined
 * - `lists`               set of list names
 * - `list:<name>:members` sorted set id → join sequence: stable order, paged by score
 * - `list:<name>:counts`  hash `<status>:<lang>` → count, kept exact by the scripts below
 *
 * Every write that touches status, language or membership runs as one Lua script, so the
 * counters never drift from the members and a status change is visible to the next read.
 */

/** One subscriber as an import row or a form gives them. */
export interface UpsertRow {
  email: string;
  /** Absent or empty keeps an existing subscriber's name. */
  name?: string;
  /** Applied to new and existing subscribers; absent keeps an existing one's language. */
  lang?: Lang;
  /**
   * Status of a new subscriber. On an existing one only a suppression (unsubscribed,
   * bounced, complained) is applied, and only over pending or active: re-importing an
   * old file never resubscribes anyone.
   */
  status?: SubscriberStatus;
}

/** What a whole batch shares. */
export interface UpsertDefaults {
  /** Language of a new subscriber when the row has none. @defaultValue 'de' */
  defaultLang?: Lang;
  /** Status of a new subscriber when the row has none. @defaultValue 'active' */
  defaultStatus?: SubscriberStatus;
  /** Where the addresses came from, e.g. `form`, `cli`, `import:list.csv`. Set on creation. */
  source?: string;
  /** Signup time and IP, recorded on creation (with a `signup` consent event). */
  consent?: Pick<Consent, 'signupAt' | 'signupIp'>;
}

export interface UpsertInput extends UpsertRow, Omit<UpsertDefaults, 'defaultStatus'> {}

export type UpsertOutcome = 'created' | 'updated' | 'unchanged';

export interface UpsertResult {
  id: string;
  outcome: UpsertOutcome;
  /** Whether this call added the subscriber to the list (false when already a member or no list). */
  joined: boolean;
}

export interface ListStats {
  name: string;
  /** Members, whatever their status. */
  total: number;
  byStatus: Record<SubscriberStatus, number>;
  byLang: Record<Lang, number>;
  /** What a send would reach. */
  activeByLang: Record<Lang, number>;
}

export interface ConsentEvent {
  at: string;
  /** `signup`, `confirmation-sent`, `confirmed`, `unsubscribed`, `lang-changed`, `status-changed`. */
  event: string;
  ip?: string;
  via?: string;
  source?: string;
  lang?: Lang;
  status?: SubscriberStatus;
  reason?: string;
}

/** A subscriber with what the store knows beyond the contract. */
export interface SubscriberRecord extends Subscriber {
  lists: string[];
  statusReason?: string;
  unsubscribedAt?: string;
  unsubscribedVia?: string;
}

const OUTCOMES = ['unchanged', 'created', 'updated'] as const;
const SUPPRESSED: readonly SubscriberStatus[] = ['unsubscribed', 'bounced', 'complained'];

const PRELUDE = `
local tag = ARGV[1]
local function subkey(id) return tag .. ':sub:' .. id end
local function countskey(list) return tag .. ':list:' .. list .. ':counts' end
local function memberskey(list) return tag .. ':list:' .. list .. ':members' end
local function lists_of(sk)
  local out = {}
  local all = redis.call('HGETALL', sk)
  for i = 1, #all, 2 do
    if string.sub(all[i], 1, 2) == 'l:' then out[#out + 1] = string.sub(all[i], 3) end
  end
  return out
end
local function move(sk, oldStatus, oldLang, newStatus, newLang)
  if oldStatus == newStatus and oldLang == newLang then return end
  for _, list in ipairs(lists_of(sk)) do
    local ck = countskey(list)
    redis.call('HINCRBY', ck, oldStatus .. ':' .. oldLang, -1)
    redis.call('HINCRBY', ck, newStatus .. ':' .. newLang, 1)
  end
end
`;

// KEYS: email index. ARGV: tag, now, list, defaultLang, defaultStatus, source, signupAt,
// signupIp, log entry for created rows, then rows of (email, key, name, lang, status).
// Empty strings mean "not given". Returns (id, outcome 0|1|2, joined 0|1) per row.
const UPSERT = `${PRELUDE}
local idx = KEYS[1]
local now, list = ARGV[2], ARGV[3]
local suppress = { unsubscribed = true, bounced = true, complained = true }
local lf = 'l:' .. list
local out = {}
-- Sequences, index entries, members and counters are gathered and written once per call:
-- a new subscriber then costs one HSET inside the loop.
local subseq = tonumber(redis.call('GET', tag .. ':sub:seq') or '0')
local joinseq = tonumber(redis.call('GET', tag .. ':join:seq') or '0')
local startSub, startJoin = subseq, joinseq
local fresh, idxArgs, zargs, deltas = {}, {}, {}, {}
local function join()
  joinseq = joinseq + 1
  return string.format('%d', joinseq)
end
local ekeys = {}
for i = 11, #ARGV, 5 do ekeys[#ekeys + 1] = ARGV[i] end
local found = redis.call('HMGET', idx, unpack(ekeys))
local row = 0
for i = 10, #ARGV, 5 do
  local email, ekey, name, lang, status = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  row = row + 1
  local id = fresh[ekey] or found[row]
  local outcome, joined = 0, 0
  local sk, curStatus, curLang
  if not id then
    subseq = subseq + 1
    id = string.format('%d', subseq)
    fresh[ekey] = id
    idxArgs[#idxArgs + 1] = ekey; idxArgs[#idxArgs + 1] = id
    sk = subkey(id)
    curLang = (lang ~= '' and lang) or ARGV[4]
    curStatus = (status ~= '' and status) or ARGV[5]
    local f = { 'email', email, 'lang', curLang, 'status', curStatus, 'created', now }
    if name ~= '' then f[#f + 1] = 'name'; f[#f + 1] = name end
    if ARGV[6] ~= '' then f[#f + 1] = 'src'; f[#f + 1] = ARGV[6] end
    if ARGV[7] ~= '' then f[#f + 1] = 'signupAt'; f[#f + 1] = ARGV[7] end
    if ARGV[8] ~= '' then f[#f + 1] = 'signupIp'; f[#f + 1] = ARGV[8] end
    if list ~= '' then
      local seq = join()
      f[#f + 1] = lf; f[#f + 1] = seq
      zargs[#zargs + 1] = seq; zargs[#zargs + 1] = id
      local ck = curStatus .. ':' .. curLang
      deltas[ck] = (deltas[ck] or 0) + 1
      joined = 1
    end
    redis.call('HSET', sk, unpack(f))
    if ARGV[9] ~= '' then redis.call('RPUSH', sk .. ':log', ARGV[9]) end
    outcome = 1
  else
    sk = subkey(id)
    local cur = redis.call('HMGET', sk, 'status', 'lang', 'name', lf)
    curStatus, curLang = cur[1], cur[2]
    local newStatus, newLang = curStatus, curLang
    if lang ~= '' then newLang = lang end
    if status ~= '' and suppress[status] and not suppress[curStatus] then newStatus = status end
    local f = {}
    if newLang ~= curLang then f[#f + 1] = 'lang'; f[#f + 1] = newLang end
    if newStatus ~= curStatus then
      f[#f + 1] = 'status'; f[#f + 1] = newStatus
      f[#f + 1] = 'reason'; f[#f + 1] = 'import'
    end
    if name ~= '' and name ~= cur[3] then f[#f + 1] = 'name'; f[#f + 1] = name end
    if #f > 0 then
      move(sk, curStatus, curLang, newStatus, newLang)
      f[#f + 1] = 'updated'; f[#f + 1] = now
      curStatus, curLang = newStatus, newLang
      outcome = 2
    end
    if list ~= '' and not cur[4] then
      local seq = join()
      f[#f + 1] = lf; f[#f + 1] = seq
      zargs[#zargs + 1] = seq; zargs[#zargs + 1] = id
      local ck = curStatus .. ':' .. curLang
      deltas[ck] = (deltas[ck] or 0) + 1
      joined = 1
    end
    if #f > 0 then redis.call('HSET', sk, unpack(f)) end
  end
  out[#out + 1] = id
  out[#out + 1] = outcome
  out[#out + 1] = joined
end
if #idxArgs > 0 then redis.call('HSET', idx, unpack(idxArgs)) end
if subseq ~= startSub then redis.call('SET', tag .. ':sub:seq', string.format('%d', subseq)) end
if #zargs > 0 then redis.call('ZADD', memberskey(list), unpack(zargs)) end
if joinseq ~= startJoin then redis.call('SET', tag .. ':join:seq', string.format('%d', joinseq)) end
for ck, n in pairs(deltas) do redis.call('HINCRBY', countskey(list), ck, n) end
if list ~= '' then redis.call('SADD', tag .. ':lists', list) end
return out
`;

// KEYS: sub hash. ARGV: tag, now, new status ('' keeps), new lang ('' keeps), allowed current
// statuses (comma-separated, '' any), log entry ('' none), then field/value pairs to set.
// Returns -1 missing, -2 refused (current status not allowed), 0 unchanged status, 1 changed.
const UPDATE = `${PRELUDE}
local sk = KEYS[1]
local cur = redis.call('HMGET', sk, 'status', 'lang')
if not cur[1] then return -1 end
if ARGV[5] ~= '' and not string.find(',' .. ARGV[5] .. ',', ',' .. cur[1] .. ',', 1, true) then return -2 end
local newStatus = (ARGV[3] ~= '' and ARGV[3]) or cur[1]
local newLang = (ARGV[4] ~= '' and ARGV[4]) or cur[2]
move(sk, cur[1], cur[2], newStatus, newLang)
local f = { 'status', newStatus, 'lang', newLang, 'updated', ARGV[2] }
for i = 7, #ARGV, 2 do f[#f + 1] = ARGV[i]; f[#f + 1] = ARGV[i + 1] end
redis.call('HSET', sk, unpack(f))
if ARGV[6] ~= '' then redis.call('RPUSH', sk .. ':log', ARGV[6]) end
if newStatus == cur[1] then return 0 end
return 1
`;

// KEYS: sub hash. ARGV: tag, id, list. Returns 1 when removed, 0 when not a member.
const LEAVE = `${PRELUDE}
local sk, id, list = KEYS[1], ARGV[2], ARGV[3]
local lf = 'l:' .. list
if redis.call('HEXISTS', sk, lf) == 0 then return 0 end
local cur = redis.call('HMGET', sk, 'status', 'lang')
redis.call('ZREM', memberskey(list), id)
redis.call('HDEL', sk, lf)
redis.call('HINCRBY', countskey(list), cur[1] .. ':' .. cur[2], -1)
return 1
`;

// KEYS: sub hash. ARGV: tag, id, index field (lower-cased email). Erases the subscriber:
// off every list (counts too), out of the email index, record and consent log deleted.
const FORGET = `${PRELUDE}
local sk, id = KEYS[1], ARGV[2]
local cur = redis.call('HMGET', sk, 'status', 'lang')
if not cur[1] then return 0 end
for _, list in ipairs(lists_of(sk)) do
  redis.call('ZREM', memberskey(list), id)
  redis.call('HINCRBY', countskey(list), cur[1] .. ':' .. cur[2], -1)
end
if redis.call('HGET', tag .. ':email', ARGV[3]) == id then redis.call('HDEL', tag .. ':email', ARGV[3]) end
redis.call('DEL', sk, sk .. ':log')
return 1
`;

type ScriptReply = (string | number)[];
interface Scripted {
  depescheUpsert(key: string, ...args: string[]): Promise<ScriptReply>;
  depescheUpdate(key: string, ...args: string[]): Promise<number>;
  depescheLeave(key: string, ...args: string[]): Promise<number>;
  depescheForget(key: string, ...args: string[]): Promise<number>;
}

const FIELD_TO_CONSENT: Record<string, keyof Consent> = {
  signupAt: 'signupAt',
  signupIp: 'signupIp',
  src: 'source',
  sentAt: 'confirmationSentAt',
  confAt: 'confirmedAt',
  confIp: 'confirmedIp',
};
const TIME_FIELDS = new Set(['created', 'updated', 'signupAt', 'sentAt', 'confAt', 'unsubAt']);

const iso = (ms: string) => new Date(Number(ms)).toISOString();
const ms = (date: string | Date | undefined): string => {
  const time = date === undefined ? NaN : new Date(date).getTime();
  return Number.isFinite(time) ? String(time) : '';
};
/** Ids are the store's own counters; anything else cannot name a subscriber (nor another key). */
const isId = (id: string) => /^\d{1,20}$/.test(id);
const zeroStatuses = () => Object.fromEntries(SUBSCRIBER_STATUSES.map((s) => [s, 0])) as Record<SubscriberStatus, number>;
const zeroLangs = () => Object.fromEntries(LANGS.map((l) => [l, 0])) as Record<Lang, number>;

/** Rows per script call during bulk upserts: large enough to amortize, small enough not to stall Redis. */
export const UPSERT_CHUNK = 500;

export class RedisSubscriberStore implements SubscriberStore {
  readonly redis: Redis;
  readonly keys: Keyspace;
  readonly #scripts: Scripted;

  constructor(redis: Redis, keys: Keyspace) {
    this.redis = redis;
    this.keys = keys;
    // defineCommand is idempotent per connection, and EVALSHA falls back to EVAL after a
    // Redis restart flushed the script cache.
    for (const [name, lua, numberOfKeys] of [
      ['depescheUpsert', UPSERT, 1],
      ['depescheUpdate', UPDATE, 1],
      ['depescheLeave', LEAVE, 1],
      ['depescheForget', FORGET, 1],
    ] as const) {
      if (!(name in redis)) redis.defineCommand(name, { lua, numberOfKeys });
    }
    this.#scripts = redis as unknown as Scripted;
  }

  #sub(id: string): string {
    return this.keys.key('sub', id);
  }

  #members(list: string): string {
    return this.keys.key('list', list, 'members');
  }

  // ── SubscriberStore ────────────────────────────────────────────────────────────

  async get(id: string): Promise<SubscriberRecord | null> {
    if (!isId(id)) return null;
    return parseSubscriber(id, await this.redis.hgetall(this.#sub(id)));
  }

  async getMany(ids: string[]): Promise<(SubscriberRecord | null)[]> {
    if (ids.length === 0) return [];
    const pipeline = this.redis.pipeline();
    // An invalid id still takes its place in the pipeline, so replies line up with ids.
    for (const id of ids) pipeline.hgetall(this.#sub(isId(id) ? id : '0'));
    const replies = (await pipeline.exec()) ?? [];
    return ids.map((id, i) => {
      const [error, hash] = replies[i] ?? [new Error('no reply'), null];
      if (error) throw new DepescheError('E_REDIS', `Reading subscriber ${id} failed: ${error.message}`, { cause: error });
      return isId(id) ? parseSubscriber(id, hash as Record<string, string>) : null;
    });
  }

  async findByEmail(email: string): Promise<SubscriberRecord | null> {
    const id = await this.idByEmail(email);
    return id === null ? null : this.get(id);
  }

  async idByEmail(email: string): Promise<string | null> {
    return this.redis.hget(this.keys.key('email'), emailKey(email.trim()));
  }

  async listExists(list: string): Promise<boolean> {
    return (await this.redis.sismember(this.keys.key('lists'), list)) === 1;
  }

  /**
   * Members in the order they joined. The cursor is the join sequence of the last member
   * returned; members who join during iteration come at the end, and removing members
   * does not shift anyone else.
   */
  async page(list: string, cursor: string | null, limit: number): Promise<ListPage> {
    if (cursor !== null && !/^\d+$/.test(cursor)) {
      throw new DepescheError('E_INPUT', `Invalid list cursor "${cursor}".`, { hint: 'Pass null to start, then the `next` of the previous page.' });
    }
    if (!Number.isInteger(limit) || limit < 1) throw new DepescheError('E_INPUT', `Page size must be a positive whole number, got ${limit}.`);
    const reply = await this.redis.zrange(this.#members(list), cursor === null ? '-inf' : `(${cursor}`, '+inf', 'BYSCORE', 'LIMIT', 0, limit + 1, 'WITHSCORES');
    const ids: string[] = [];
    const count = Math.min(limit, reply.length / 2);
    for (let i = 0; i < count; i++) ids.push(reply[i * 2]!);
    const next = reply.length / 2 > limit ? reply[count * 2 - 1]! : null;
    return { ids, next };
  }

  async countActiveByLang(list: string): Promise<Record<Lang, number>> {
    const counts = await this.redis.hgetall(this.keys.key('list', list, 'counts'));
    const out = zeroLangs();
    for (const lang of LANGS) out[lang] = Number(counts[`active:${lang}`] ?? 0);
    return out;
  }

  async setStatus(id: string, status: SubscriberStatus, reason?: string): Promise<void> {
    const fields: string[] = ['reason', reason ?? ''];
    if (status === 'unsubscribed') fields.push('unsubAt', String(Date.now()), 'unsubVia', reason ?? 'admin');
    const result = await this.#update(id, { status, log: { event: 'status-changed', status, ...(reason ? { reason } : {}) }, fields });
    if (result === -1) throw notFound(id);
  }

  // ── Writes beyond the contract ─────────────────────────────────────────────────

  /** Adds or updates one subscriber, and joins them to `list` if given. Idempotent. */
  async upsert(input: UpsertInput, list?: string): Promise<UpsertResult & { subscriber: SubscriberRecord }> {
    const { email, name, lang, status, ...defaults } = input;
    const row: UpsertRow = { email };
    if (name !== undefined) row.name = name;
    if (lang !== undefined) row.lang = lang;
    if (status !== undefined) row.status = status;
    const [result] = await this.upsertMany([row], list, defaults);
    const subscriber = await this.get(result!.id);
    return { ...result!, subscriber: subscriber! };
  }

  /**
   * Bulk upsert for imports: one script call per {@link UPSERT_CHUNK} rows, all chunks
   * pipelined into one round trip. Throws E_INPUT on an invalid address or name; callers
   * that must report rows one by one validate first (see import.ts).
   */
  async upsertMany(rows: UpsertRow[], list?: string, defaults: UpsertDefaults = {}): Promise<UpsertResult[]> {
    if (rows.length === 0) return [];
    if (list !== undefined) {
      const checked = checkListName(list);
      if (!checked.ok) throw new DepescheError('E_INPUT', checked.reason);
    }
    const signup = defaults.consent?.signupAt !== undefined || defaults.consent?.signupIp !== undefined;
    const head = [
      this.keys.tag,
      String(Date.now()),
      list ?? '',
      defaults.defaultLang ?? 'de',
      defaults.defaultStatus ?? 'active',
      defaults.source ?? '',
      ms(defaults.consent?.signupAt),
      defaults.consent?.signupIp ?? '',
      signup ? JSON.stringify(event('signup', { ip: defaults.consent?.signupIp, source: defaults.source })) : '',
    ];
    const pipeline = this.redis.pipeline();
    for (let start = 0; start < rows.length; start += UPSERT_CHUNK) {
      const args = [...head];
      for (const row of rows.slice(start, start + UPSERT_CHUNK)) {
        const email = normalizeEmail(row.email);
        if (!email.ok) throw new DepescheError('E_INPUT', email.reason);
        const name = checkName(row.name);
        if (!name.ok) throw new DepescheError('E_INPUT', name.reason);
        args.push(email.value, emailKey(email.value), name.value, row.lang ?? '', row.status ?? '');
      }
      (pipeline as unknown as Scripted).depescheUpsert(this.keys.key('email'), ...args);
    }
    const replies = (await pipeline.exec()) ?? [];
    const out: UpsertResult[] = [];
    for (const [error, reply] of replies) {
      if (error) throw new DepescheError('E_REDIS', `Saving subscribers failed: ${error.message}`, { cause: error });
      const flat = reply as ScriptReply;
      for (let i = 0; i < flat.length; i += 3) {
        out.push({ id: String(flat[i]), outcome: OUTCOMES[Number(flat[i + 1])]!, joined: Number(flat[i + 2]) === 1 });
      }
    }
    return out;
  }

  /** Joins an existing subscriber to a list; false when they were already a member. */
  async addToList(id: string, list: string): Promise<boolean> {
    const subscriber = await this.get(id);
    if (!subscriber) throw notFound(id);
    const [result] = await this.upsertMany([{ email: subscriber.email }], list);
    return result!.joined;
  }

  /** False when they were not a member. The subscriber and their status stay. */
  async removeFromList(id: string, list: string): Promise<boolean> {
    if (!isId(id)) return false;
    return (await this.#scripts.depescheLeave(this.#sub(id), this.keys.tag, id, list)) === 1;
  }

  /**
   * Erasure on request (GDPR Art. 17): the record, the consent log, every membership and
   * the index entry go. Nothing then stops a later import from adding the address again;
   * to keep someone from ever being mailed, unsubscribe them instead. False when unknown.
   */
  async forget(id: string): Promise<boolean> {
    const subscriber = await this.get(id);
    if (!subscriber) return false;
    return (await this.#scripts.depescheForget(this.#sub(id), this.keys.tag, id, emailKey(subscriber.email))) === 1;
  }

  /** Declares an empty list, so sends and the public form can name it before anyone joins. */
  async createList(list: string): Promise<void> {
    const checked = checkListName(list);
    if (!checked.ok) throw new DepescheError('E_INPUT', checked.reason);
    await this.redis.sadd(this.keys.key('lists'), list);
  }

  async lists(): Promise<ListStats[]> {
    const names = (await this.redis.smembers(this.keys.key('lists'))).sort();
    const pipeline = this.redis.pipeline();
    for (const name of names) pipeline.hgetall(this.keys.key('list', name, 'counts'));
    const replies = (await pipeline.exec()) ?? [];
    return names.map((name, i) => {
      const counts = (replies[i]?.[1] ?? {}) as Record<string, string>;
      const stats: ListStats = { name, total: 0, byStatus: zeroStatuses(), byLang: zeroLangs(), activeByLang: zeroLangs() };
      for (const [field, value] of Object.entries(counts)) {
        const [status, lang] = field.split(':') as [SubscriberStatus, Lang];
        const n = Number(value);
        if (!(status in stats.byStatus) || !(lang in stats.byLang)) continue;
        stats.total += n;
        stats.byStatus[status] += n;
        stats.byLang[lang] += n;
        if (status === 'active') stats.activeByLang[lang] += n;
      }
      return stats;
    });
  }

  /**
   * Double opt-in, step two: pending → active, with the time and IP of the click. Returns
   * false for a subscriber who is no longer pending, e.g. who unsubscribed since, so an
   * old confirmation link cannot resubscribe anyone; an active one stays active.
   */
  async confirm(id: string, ip: string): Promise<boolean> {
    const now = String(Date.now());
    const result = await this.#update(id, {
      status: 'active',
      only: ['pending'],
      log: { event: 'confirmed', ip },
      fields: ['confAt', now, 'confIp', ip, 'reason', ''],
    });
    if (result === -1) throw notFound(id);
    return result !== -2;
  }

  /**
   * Takes effect at once: the sender reads status per batch. `via` says how, e.g.
   * `one-click`, `page`, `preferences`, `mailto`, `cli`. Idempotent.
   */
  async unsubscribe(id: string, via: string): Promise<void> {
    const result = await this.#update(id, {
      status: 'unsubscribed',
      log: { event: 'unsubscribed', via },
      fields: ['unsubAt', String(Date.now()), 'unsubVia', via, 'reason', via],
    });
    if (result === -1) throw notFound(id);
  }

  /** The form was filled in again: back to pending until the new confirmation link is used. */
  async markPending(id: string, consent: { signupIp: string; source: string }): Promise<void> {
    const result = await this.#update(id, {
      status: 'pending',
      log: { event: 'signup', ip: consent.signupIp, source: consent.source },
      fields: ['signupAt', String(Date.now()), 'signupIp', consent.signupIp, 'src', consent.source, 'reason', ''],
    });
    if (result === -1) throw notFound(id);
  }

  async confirmationSent(id: string): Promise<void> {
    await this.#update(id, { log: { event: 'confirmation-sent' }, fields: ['sentAt', String(Date.now())] });
  }

  async setLang(id: string, lang: Lang, via = 'preferences'): Promise<void> {
    const result = await this.#update(id, { lang, log: { event: 'lang-changed', lang, via } });
    if (result === -1) throw notFound(id);
  }

  /** The consent log of one subscriber, oldest first. */
  async consentLog(id: string): Promise<ConsentEvent[]> {
    const entries = await this.redis.lrange(`${this.#sub(id)}:log`, 0, -1);
    return entries.map((entry) => JSON.parse(entry) as ConsentEvent);
  }

  /** Every member of a list in join order, a page at a time; for export. */
  async *iterate(list: string, pageSize = 1000): AsyncGenerator<SubscriberRecord[]> {
    let cursor: string | null = null;
    do {
      const page: ListPage = await this.page(list, cursor, pageSize);
      const subscribers = (await this.getMany(page.ids)).filter((s): s is SubscriberRecord => s !== null);
      if (subscribers.length > 0) yield subscribers;
      cursor = page.next;
    } while (cursor !== null);
  }

  async #update(
    id: string,
    change: { status?: SubscriberStatus; lang?: Lang; only?: SubscriberStatus[]; log?: Omit<ConsentEvent, 'at'>; fields?: string[] },
  ): Promise<number> {
    if (!isId(id)) return -1;
    return this.#scripts.depescheUpdate(
      this.#sub(id),
      this.keys.tag,
      String(Date.now()),
      change.status ?? '',
      change.lang ?? '',
      (change.only ?? []).join(','),
      change.log ? JSON.stringify(event(change.log.event, change.log)) : '',
      ...(change.fields ?? []),
    );
  }
}

function event(name: string, details: Omit<ConsentEvent, 'at' | 'event'>): ConsentEvent {
  const out: ConsentEvent = { at: new Date().toISOString(), event: name };
  for (const [key, value] of Object.entries(details)) {
    if (value !== undefined && value !== '' && key !== 'event') (out as unknown as Record<string, unknown>)[key] = value;
  }
  return out;
}

function notFound(id: string): DepescheError {
  return new DepescheError('E_NOT_FOUND', `No subscriber with id ${id}.`, { hint: 'Look the address up with `depesche subscribers export` or check the id.' });
}

function parseSubscriber(id: string, hash: Record<string, string> | null): SubscriberRecord | null {
  if (!hash || hash.email === undefined) return null;
  const consent: Consent = {};
  const lists: string[] = [];
  for (const [field, value] of Object.entries(hash)) {
    if (field.startsWith('l:')) lists.push(field.slice(2));
    const consentKey = FIELD_TO_CONSENT[field];
    if (consentKey && value !== '') consent[consentKey] = TIME_FIELDS.has(field) ? iso(value) : value;
  }
  const record: SubscriberRecord = {
    id,
    email: hash.email,
    name: hash.name ?? '',
    lang: hash.lang as Lang,
    status: hash.status as SubscriberStatus,
    createdAt: iso(hash.created ?? '0'),
    updatedAt: iso(hash.updated ?? hash.created ?? '0'),
    consent,
    lists: lists.sort(),
  };
  if (hash.reason) record.statusReason = hash.reason;
  if (hash.unsubAt) record.unsubscribedAt = iso(hash.unsubAt);
  if (hash.unsubVia) record.unsubscribedVia = hash.unsubVia;
  return record;
}

export function isSuppressed(status: SubscriberStatus): boolean {
  return SUPPRESSED.includes(status);
}
