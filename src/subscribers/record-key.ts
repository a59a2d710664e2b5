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

/** The record's fields a send needs, status first (see redis-store.ts for the layout). */
export const SEND_FIELDS = ['status', 'email', 'name', 'lang'] as const;
