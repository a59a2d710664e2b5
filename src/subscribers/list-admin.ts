import type { Redis } from 'ioredis';
import { campaignKeys, sendKeys } from '../campaign/keys.ts';
import type { Keyspace } from '../config/redis.ts';
import { DepescheError } from '../errors.ts';
import { consentEvent, type Actor } from './consent.ts';
import type { ListStats, RedisSubscriberStore, Visibility } from './redis-store.ts';
import { SUBSCRIBER_STATUSES } from './types.ts';
import { LANGS } from '../core/lang.ts';
import { checkListName, describeValue } from './validate.ts';

/**
 * What ops do to a list as a whole: create, rename, describe, delete.
 *
 * A list's name is its key: memberships, counts, campaigns, the sign-up form's `list`
 * field, the CLI's `--list` and the List-Id header (`<name>.<domain>`, RFC 2919) all hold
 * it. RFC 2919 wants a List-Id to stay the same for the life of the list, since mail
 * clients and readers' filters sort by it. So the name is the list's stable id, and a
 * rename gives the list a new *title* (what the console and `depesche lists` show) while
 * the name, and with it the List-Id, stay. Titles and descriptions live in one hash,
 * `list-info`.
 */

export interface ListInfo {
  /** Shown instead of the name; absent until a rename. */
  title?: string;
  description?: string;
}

export interface ListOverview extends ListStats, ListInfo {}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const LIVE_STATES = new Set(['preparing', 'scheduled', 'sending', 'paused']);

function checkText(field: string, raw: unknown, max: number, required: boolean): string {
  if (typeof raw !== 'string') throw new DepescheError('E_INPUT', `${field} must be text, got "${describeValue(raw)}".`);
  const value = raw.trim().replace(/\s+/g, ' ');
  if (CONTROL.test(raw.replace(/\r?\n/g, ' '))) throw new DepescheError('E_INPUT', `${field} contains control characters.`);
  if (required && !value) throw new DepescheError('E_INPUT', `${field} is empty.`, { hint: `Give the list a ${field} of 1–${max} characters.` });
  if (value.length > max) throw new DepescheError('E_INPUT', `${field} is longer than ${max} characters.`);
  return value;
}

function checked(list: string): string {
  const name = checkListName(list);
  if (!name.ok) throw new DepescheError('E_INPUT', name.reason);
  return name.value;
}

export class ListAdmin {
  readonly #store: RedisSubscriberStore;
  readonly #redis: Redis;
  readonly #keys: Keyspace;
  readonly #defaultList: string | undefined;

  constructor(store: RedisSubscriberStore, options: { defaultList?: string | undefined } = {}) {
    this.#store = store;
    this.#redis = store.redis;
    this.#keys = store.keys;
    this.#defaultList = options.defaultList;
  }

  get #info(): string {
    return this.#keys.key('list-info');
  }

  #log(event: string, list: string, actor: Actor, extra: Record<string, string> = {}) {
    return JSON.stringify({ ...consentEvent(event, { list, by: actor.by, reason: actor.reason }), ...extra });
  }

  /** Every list with its counts, visibility, title and description. */
  async overview(): Promise<ListOverview[]> {
    const [lists, info] = await Promise.all([this.#store.lists(this.#defaultList), this.#redis.hgetall(this.#info)]);
    return lists.map((l) => ({ ...l, ...(info[l.name] ? (JSON.parse(info[l.name]!) as ListInfo) : {}) }));
  }

  async get(list: string): Promise<ListOverview> {
    const found = (await this.overview()).find((l) => l.name === list);
    if (!found) throw notFound(list);
    return found;
  }

  async create(list: string, actor: Actor, options: ListInfo & { visibility?: Visibility } = {}): Promise<void> {
    const name = checked(list);
    if (await this.#store.listExists(name)) throw new DepescheError('E_CONFLICT', `The list "${name}" exists already.`);
    await this.#store.createList(name);
    if (options.title || options.description) await this.#write(name, { ...options });
    await this.#store.setVisibility(name, options.visibility ?? 'private', actor);
  }

  /** A new title; the name, and with it the List-Id, stay. */
  async rename(list: string, title: string, actor: Actor): Promise<void> {
    const value = checkText('title', title, 100, true);
    await this.#change(list, actor, 'list-renamed', { title: value === list ? undefined : value });
  }

  async describe(list: string, description: string, actor: Actor): Promise<void> {
    await this.#change(list, actor, 'list-described', { description: checkText('description', description, 500, false) || undefined });
  }

  async #change(list: string, actor: Actor, event: string, patch: ListInfo): Promise<void> {
    const current = await this.get(checked(list));
    const next: ListInfo = { title: current.title, description: current.description, ...patch };
    await this.#write(list, next);
    await this.#redis.rpush(this.#keys.key('ops-log'), this.#log(event, list, actor, Object.fromEntries(Object.entries(patch).map(([k, v]) => [k, v ?? '']))));
  }

  async #write(list: string, info: ListInfo): Promise<void> {
    const clean = Object.fromEntries(Object.entries(info).filter(([, v]) => v !== undefined && v !== ''));
    if (Object.keys(clean).length) await this.#redis.hset(this.#info, list, JSON.stringify(clean));
    else await this.#redis.hdel(this.#info, list);
  }

  /** Campaigns not yet over (preparing, scheduled, sending, paused) that send to the list. */
  async liveCampaigns(list: string): Promise<string[]> {
    const ids = await this.#redis.zrange(sendKeys(this.#keys).index, '0', '-1');
    if (ids.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const id of ids) pipeline.hmget(campaignKeys(this.#keys, id).meta, 'list', 'state');
    const replies = (await pipeline.exec()) ?? [];
    return ids.filter((_, i) => {
      const [listOf, state] = (replies[i]?.[1] ?? []) as (string | null)[];
      return listOf === list && LIVE_STATES.has(state ?? '');
    });
  }

  /**
   * Deletes a list: every member is taken off it (each remembered as having left it, with
   * who and why in their consent log, so no later import under the same name brings them
   * back), then the list itself goes. The subscribers stay. Refused while a campaign is
   * not over on it, for the default list, and when `confirmMembers` is not the number of
   * members the list has now (the confirmation names it; a list that grew meanwhile is
   * confirmed again).
   */
  async delete(list: string, actor: Actor, confirmMembers: number, onProgress?: (removed: number) => void): Promise<number> {
    const stats = await this.get(checked(list));
    if (list === this.#defaultList) {
      throw new DepescheError('E_CONFLICT', `"${list}" is the default list (DEFAULT_LIST): the sign-up form adds readers to it.`, {
        hint: 'Point DEFAULT_LIST at another list first.',
      });
    }
    const live = await this.liveCampaigns(list);
    if (live.length) {
      throw new DepescheError('E_CONFLICT', `Campaign ${live.join(', ')} is not over on "${list}".`, { hint: 'Wait until it is done, or cancel it, then delete the list.' });
    }
    if (confirmMembers !== stats.total) {
      throw new DepescheError('E_CONFLICT', `"${list}" has ${stats.total} members, not ${confirmMembers}.`, { hint: `Confirm with the member count as it is now: ${stats.total}.` });
    }
    let removed = 0;
    for (;;) {
      // Always the first page: members taken off leave it, so it refills until empty.
      const page = await this.#store.page(list, null, 500);
      if (page.ids.length === 0) break;
      await Promise.all(
        page.ids.map((id) =>
          // A member entry without its subscriber (a crash mid-erasure) is simply dropped.
          this.#store.removeFromList(id, list, actor).catch(async (error: unknown) => {
            if ((error as DepescheError).code !== 'E_NOT_FOUND') throw error;
            await this.#redis.zrem(this.#keys.key('list', list, 'members'), id);
            return false;
          }),
        ),
      );
      removed += page.ids.length;
      onProgress?.(removed);
    }
    const multi = this.#redis.multi();
    multi.del(this.#keys.key('list', list, 'members'));
    multi.hdel(this.#keys.key('list-counts'), ...SUBSCRIBER_STATUSES.flatMap((s) => LANGS.map((l) => `${list}:${s}:${l}`)));
    multi.srem(this.#keys.key('lists'), list);
    multi.hdel(this.#keys.key('list-visibility'), list);
    multi.hdel(this.#info, list);
    multi.rpush(this.#keys.key('ops-log'), this.#log('list-deleted', list, actor, { source: `${removed} members taken off` }));
    await multi.exec();
    return removed;
  }
}

function notFound(list: string): DepescheError {
  return new DepescheError('E_NOT_FOUND', `There is no list "${list}".`, { hint: 'See the lists with `depesche subscribers lists`.' });
}
