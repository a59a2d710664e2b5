import type { Redis } from 'ioredis';
import type { Keyspace } from '../config/redis.ts';
import { campaignKeys } from './keys.ts';
import { LEDGER_CODES } from './ledger.ts';

/** A recipient whose delivery in one campaign bounced or failed, with the answer noted. */
export interface TroubledRecipient {
  id: string;
  result: 'bounced' | 'failed';
  note: string;
}

const WANTED: Record<string, TroubledRecipient['result']> = { [LEDGER_CODES.bounced]: 'bounced', [LEDGER_CODES.failed]: 'failed' };

/**
 * The campaign's bounced and failed recipients, read from its ledger notes (every bounce and
 * failure is noted with the server's answer). Read-only, for the console: it scans the notes
 * hash in steps and stops at `limit` hits or `scanMax` notes, since skipped readers are noted
 * too and can be most of a list.
 */
export async function troubledRecipients(redis: Redis, keys: Keyspace, campaignId: string, options: { limit?: number; scanMax?: number } = {}): Promise<{ recipients: TroubledRecipient[]; complete: boolean }> {
  const limit = options.limit ?? 100;
  const scanMax = options.scanMax ?? 20_000;
  const k = campaignKeys(keys, campaignId);
  const recipients: TroubledRecipient[] = [];
  let cursor = '0';
  let scanned = 0;
  do {
    const [next, flat] = await redis.hscan(k.notes, cursor, 'COUNT', 500);
    cursor = next;
    const ids: string[] = [];
    const notes: string[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      ids.push(flat[i]!);
      notes.push(flat[i + 1]!);
    }
    scanned += ids.length;
    if (ids.length === 0) continue;
    const codes = await redis.hmget(k.ledger, ...ids);
    ids.forEach((id, i) => {
      const result = WANTED[codes[i] ?? ''];
      if (result && recipients.length < limit) recipients.push({ id, result, note: notes[i]! });
    });
  } while (cursor !== '0' && recipients.length < limit && scanned < scanMax);
  return { recipients, complete: cursor === '0' };
}
