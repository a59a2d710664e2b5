import { randomBytes } from 'node:crypto';

/**
 * Subscriber ids. New ones are 12 random characters of lower-case base32 (60 bits): they
 * travel in every link and Message-ID, and a counter there would tell anyone how many
 * readers there are and let them guess their neighbours. Lower case only, so an id survives
 * the case-folding of mail local parts (a return path may carry it).
 *
 * Subscribers created before ids were random keep their decimal ids, and links in mails
 * already sent keep working.
 */
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
export const ID_LENGTH = 12;
const NEW_ID = /^[a-z2-7]{12}$/;
const LEGACY_ID = /^\d{1,20}$/;

export function newSubscriberId(): string {
  return newSubscriberIds(1)[0]!;
}

/** Many ids from one call into the random source: an import makes thousands at once. */
export function newSubscriberIds(count: number): string[] {
  const bytes = randomBytes(ID_LENGTH * count);
  const ids: string[] = new Array(count);
  for (let n = 0; n < count; n++) {
    let id = '';
    for (let i = n * ID_LENGTH; i < (n + 1) * ID_LENGTH; i++) id += ALPHABET[bytes[i]! & 31];
    ids[n] = id;
  }
  return ids;
}

/** Whether `id` can name a subscriber at all; anything else never reaches a key. */
export function isSubscriberId(id: unknown): id is string {
  return typeof id === 'string' && (NEW_ID.test(id) || LEGACY_ID.test(id));
}
