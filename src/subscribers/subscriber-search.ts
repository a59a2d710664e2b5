import { DepescheError } from '../errors.ts';
import type { Lang } from '../core/lang.ts';
import type { RedisSubscriberStore, SubscriberRecord } from './redis-store.ts';
import { fold, type SearchKind } from './search-index.ts';
import type { SubscriberStatus } from './types.ts';

/**
 * One page of the console's subscriber search: a query over the index (search-index.ts),
 * narrowed by list, status and language. Address matches come first (in address order),
 * then matches on a later word of the address or the name. With no query and a list, the
 * list's members are paged in join order; with neither, every subscriber by address.
 *
 * Filters are checked on the subscribers read, so a rare filter over a large set could
 * read far: one page reads at most {@link SCAN_BUDGET} candidates and then hands back a
 * cursor ("more may match") rather than keep the request waiting.
 */

export interface SearchQuery {
  q?: string;
  list?: string;
  status?: SubscriberStatus;
  lang?: Lang;
  cursor?: string | null;
  /** @defaultValue 50 */
  limit?: number;
}

export interface SearchPage {
  subscribers: SubscriberRecord[];
  /** Pass back as `cursor` for the next page; null when nothing more can match. */
  next: string | null;
  /** Candidates read for this page. */
  examined: number;
  ms: number;
}

export const SCAN_BUDGET = 5000;
const CHUNK = 200;

type Phase = 'email' | 'word' | 'members';
interface Position {
  phase: Phase;
  after: string | null;
}

function encode(position: Position): string {
  return Buffer.from(JSON.stringify([position.phase, position.after])).toString('base64url');
}

function decode(cursor: string): Position {
  try {
    const [phase, after] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as [Phase, string | null];
    if (['email', 'word', 'members'].includes(phase) && (after === null || typeof after === 'string')) return { phase, after };
  } catch {
    // fall through
  }
  throw new DepescheError('E_INPUT', 'That page link is not valid any more.', { hint: 'Start the search again from its first page.' });
}

export async function searchSubscribers(store: RedisSubscriberStore, query: SearchQuery): Promise<SearchPage> {
  const started = performance.now();
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
  const prefix = fold(query.q ?? '');
  const phases: Phase[] = prefix ? ['email', 'word'] : query.list ? ['members'] : ['email'];
  let position: Position = query.cursor ? decode(query.cursor) : { phase: phases[0]!, after: null };
  if (!phases.includes(position.phase)) position = { phase: phases[0]!, after: null };
  const matches = (s: SubscriberRecord) =>
    (!query.list || s.lists.includes(query.list)) && (!query.status || s.status === query.status) && (!query.lang || s.lang === query.lang);

  const found: SubscriberRecord[] = [];
  let examined = 0;
  let exhausted = false;
  while (found.length < limit && examined < SCAN_BUDGET) {
    let done: boolean;
    if (position.phase === 'members') {
      // A page of members is read whole, so the list's own cursor (a join sequence) holds.
      const page = await store.page(query.list!, position.after, Math.min(limit - found.length, CHUNK));
      const records = await store.getMany(page.ids);
      examined += page.ids.length;
      for (const s of records) if (s && matches(s)) found.push(s);
      position = { phase: 'members', after: page.next };
      done = page.next === null;
    } else {
      const kind: SearchKind = position.phase;
      const hits = await store.search.range(kind, prefix, position.after, CHUNK);
      const records = await store.getMany(hits.map((h) => h.id));
      done = hits.length < CHUNK;
      for (let i = 0; i < hits.length; i++) {
        examined++;
        position = { phase: kind, after: hits[i]!.entry };
        const s = records[i] ?? null;
        if (store.search.verify(hits[i]!, kind, prefix, s) && matches(s!)) found.push(s!);
        if (found.length >= limit) {
          done = done && i === hits.length - 1;
          break;
        }
      }
    }
    if (done) {
      const next = phases[phases.indexOf(position.phase) + 1];
      if (!next) {
        exhausted = true;
        break;
      }
      position = { phase: next, after: null };
    }
  }
  return { subscribers: found, next: exhausted ? null : encode(position), examined, ms: Math.round((performance.now() - started) * 10) / 10 };
}
