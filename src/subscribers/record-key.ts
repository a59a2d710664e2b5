import type { Keyspace } from '../config/redis.ts';
import { isSubscriberId } from './ids.ts';

/**
 * Where a subscriber's record lives, for code outside the store that reads it inside its
 * own Redis scripts (the ledger's group claim). An id that is not a subscriber id points
 * at a key that never exists, so it reads as "no such subscriber".
 */
export function subscriberKey(keys: Keyspace, id: string): string {
  return keys.key('sub', isSubscriberId(id) ? id : '0');
}

/**
 * The record's fields a send reads, in this order (see redis-store.ts for the layout):
 * status, email, name, lang, and the member's field of the campaign's list (present while
 * they are on it).
 */
export function sendFields(list: string): string[] {
  return ['status', 'email', 'name', 'lang', `l:${list}`];
}
