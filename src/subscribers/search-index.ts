import type { Redis } from 'ioredis';
import type { Keyspace } from '../config/redis.ts';

/**
 * Finding a subscriber by address or name among a million, without reading them all.
 *
 * Two sorted sets, every member at score 0, so Redis keeps them in byte order and
 * `ZRANGE … BYLEX` finds all members that start with a prefix in O(log N + hits):
 *
 * - `search:email`  `<folded address>\0<id>`: prefix search on the address, and the
 *                   alphabetical browse when nothing is searched for;
 * - `search:word`   `<folded text from a word start>\0<id>`: every place in the address
 *                   after `.`, `@`, `_`, `-` or `+` (but not the top-level domain alone), and
 *                   every word of the name, each to the end of the text (unless an address
 *                   term starts with it already).
 *
 * So "mueller" finds anna.mueller@firma.de and "Jörg Müller", "firma.de" finds everyone at
 * that domain, and "mueller@f" narrows it further: a substring is found when it starts at a
 * word start. Folding lower-cases, writes ä ö ü ß as ae oe ue ss (how Germans type them in
 * addresses, so "Müller" and "Mueller" find each other), drops other accents and makes the
 * separators one space.
 *
 * Cost, measured with 100,000 subscribers: about 520 B of Redis memory per subscriber
 * (each entry about 140 B as a skiplist member), and an import 1.3 times as long.
 *
 * The index is kept by the store on every write that sets an address or a name (hooks in
 * redis-store.ts), outside the write's own script, so a crash in between can leave an
 * entry missing (`rebuild` repairs) or stale. Stale entries never show: every hit is
 * checked against the subscriber as stored now (see {@link SearchIndex.verify}).
 */

/**
 * Lower-case, German umlauts spelled out, other accents dropped, and the separators people
 * type interchangeably (space . _ - +) as one space: "Anna.Müller" and "anna mueller" fold
 * alike. `@` stays.
 */
export function fold(text: string): string {
  return text
    .toLowerCase()
    .replace(/ä/g, 'ae')
    .replace(/ö/g, 'oe')
    .replace(/ü/g, 'ue')
    .replace(/ß/g, 'ss')
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[\s._+'’-]+/g, ' ')
    .trim();
}

const BREAK = /[ @]/;
/** Shorter tails (`de`, `io`) would match half the list and tell nothing. */
const MIN_TAIL = 3;

/**
 * The `search:word` terms of one subscriber, without the id: the folded address from each
 * word start after its first, and the folded name from each word start, except where an
 * address term already starts with it (for "Anna Müller <anna.mueller@…>" the name adds
 * nothing; every entry costs memory).
 */
export function wordTerms(email: string, name: string): string[] {
  const address = fold(email);
  const at = address.lastIndexOf('@');
  const tld = address.lastIndexOf(' ');
  const terms: string[] = [];
  for (let i = 1; i < address.length; i++) {
    if (!BREAK.test(address[i - 1]!) || BREAK.test(address[i]!)) continue;
    // The top-level domain on its own ("com") finds everyone; from the domain's start on it is kept.
    if (i > tld && tld > at) continue;
    const tail = address.slice(i);
    if (tail.length >= MIN_TAIL) terms.push(tail);
  }
  const covered = [address, ...terms];
  const folded = fold(name);
  for (let i = 0; i < folded.length; i++) {
    if ((i > 0 && folded[i - 1] !== ' ') || folded[i] === ' ') continue;
    const tail = folded.slice(i);
    if (tail.length >= 2 && !covered.some((term) => term.startsWith(tail))) terms.push(tail);
  }
  return [...new Set(terms)];
}

export interface Indexed {
  id: string;
  email: string;
  name: string;
}

export interface SearchHit {
  id: string;
  /** The index entry it was found by; the page cursor. */
  entry: string;
}

const SEP = '\0';
const LAYOUT = '1';

function entry(term: string, id: string): string {
  return `${term}${SEP}${id}`;
}

export function parseEntry(value: string): { term: string; id: string } {
  const cut = value.lastIndexOf(SEP);
  return { term: value.slice(0, cut), id: value.slice(cut + 1) };
}

export type SearchKind = 'email' | 'word';

export class SearchIndex {
  readonly #redis: Redis;
  readonly #keys: Keyspace;
  readonly #sweeps = new Set<Promise<void>>();

  constructor(redis: Redis, keys: Keyspace) {
    this.#redis = redis;
    this.#keys = keys;
  }

  key(kind: SearchKind): string {
    return this.#keys.key('search', kind);
  }

  /** Entries of a subscriber as they are now: what the index must hold for them. */
  entries(subscriber: Indexed): { email: string; words: string[] } {
    return {
      email: entry(fold(subscriber.email), subscriber.id),
      words: wordTerms(subscriber.email, subscriber.name).map((term) => entry(term, subscriber.id)),
    };
  }

  /**
   * Adds subscribers' entries and takes away those of names they no longer have
   * (`before`: the subscriber as it was, when known). One pipeline.
   */
  async update(now: Indexed[], before: Map<string, Indexed> = new Map()): Promise<void> {
    if (now.length === 0) return;
    const emails: string[] = [];
    const words: string[] = [];
    const gone: string[] = [];
    for (const subscriber of now) {
      const fresh = this.entries(subscriber);
      const old = before.get(subscriber.id);
      if (old) gone.push(...this.entries(old).words.filter((e) => !fresh.words.includes(e)));
      emails.push(fresh.email);
      words.push(...fresh.words);
    }
    // A few large commands rather than one per subscriber: an import writes thousands at once.
    // In order, so each insert lands next to the one before in the skiplist (fewer cache
    // misses in Redis; measured in the README's import figures).
    emails.sort();
    words.sort();
    const pipeline = this.#redis.pipeline();
    for (let i = 0; i < gone.length; i += 1000) pipeline.zrem(this.key('word'), ...gone.slice(i, i + 1000));
    for (const [kind, entries] of [['email', emails], ['word', words]] as const) {
      for (let i = 0; i < entries.length; i += 1000) pipeline.zadd(this.key(kind), ...entries.slice(i, i + 1000).flatMap((e) => [0, e]));
    }
    await exec(pipeline);
  }

  /**
   * Takes a subscriber out (erasure): their current entries go at once. Entries of an
   * earlier name left behind by a crash or a race are then found by a scan of the index
   * in the background (about 1–2 s per 100,000 subscribers), so the erasure does not wait
   * for it; {@link settled} waits.
   */
  async remove(subscriber: Indexed): Promise<void> {
    const { email, words } = this.entries(subscriber);
    const pipeline = this.#redis.pipeline();
    pipeline.zrem(this.key('email'), email);
    if (words.length) pipeline.zrem(this.key('word'), ...words);
    await exec(pipeline);
    const sweep = this.#sweep(subscriber.id)
      .catch(() => {
        // Redis went away mid-scan: what is left is hidden by verify() and goes with the next sweep or reindex.
      })
      .finally(() => this.#sweeps.delete(sweep));
    this.#sweeps.add(sweep);
  }

  /** Resolves when every background sweep of an erasure is done. */
  async settled(): Promise<void> {
    await Promise.all([...this.#sweeps]);
  }

  async #sweep(id: string): Promise<void> {
    for (const kind of ['email', 'word'] as const) {
      let cursor = '0';
      do {
        const [next, flat] = await this.#redis.zscan(this.key(kind), cursor, 'MATCH', `*${SEP}${id}`, 'COUNT', 5000);
        cursor = next;
        const left = flat.filter((_, i) => i % 2 === 0);
        if (left.length) await this.#redis.zrem(this.key(kind), ...left);
      } while (cursor !== '0');
    }
  }

  /**
   * Entries starting with `prefix` (folded), after `after` (an entry, exclusive), at most
   * `limit`. An empty prefix pages through everything.
   */
  async range(kind: SearchKind, prefix: string, after: string | null, limit: number): Promise<SearchHit[]> {
    const start = after !== null ? Buffer.from(`(${after}`) : prefix ? Buffer.from(`[${prefix}`) : '-';
    // 0xff never occurs in UTF-8, so it sorts after every entry that starts with the prefix.
    const end = prefix ? Buffer.concat([Buffer.from(`[${prefix}`), Buffer.from([0xff])]) : '+';
    const values = await this.#redis.zrangebylex(this.key(kind), start as string, end as string, 'LIMIT', 0, limit);
    return values.map((value) => ({ id: parseEntry(value).id, entry: value }));
  }

  /**
   * Whether a hit stands for the subscriber as stored now, and is the one place they are
   * shown for this query: a subscriber matching through several entries appears once, at
   * the first of them (and not at all among word hits when their address matched already).
   */
  verify(hit: SearchHit, kind: SearchKind, prefix: string, subscriber: Indexed | null): boolean {
    if (!subscriber) return false;
    const { email, words } = this.entries(subscriber);
    if (kind === 'email') return hit.entry === email;
    if (prefix && parseEntry(email).term.startsWith(prefix)) return false;
    const first = words.filter((e) => e.startsWith(prefix)).sort()[0];
    return hit.entry === first;
  }

  async ready(): Promise<boolean> {
    return (await this.#redis.get(this.#keys.key('search', 'layout'))) === LAYOUT;
  }

  /**
   * Indexes every subscriber there is (a migration for data from before the index, and a
   * repair after a crash between a write and its index entry), unless the index already
   * has as many addresses as the store. Reads the address index in
   * HSCAN pages and the names through `names`; additive, so writes meanwhile are safe.
   */
  async rebuild(names: (ids: string[]) => Promise<(Indexed | null)[]>, onProgress?: (done: number) => void, options: { force?: boolean } = {}): Promise<number> {
    // An installation that had the index from its first write has an entry per address:
    // then it is only marked built. `force` (the CLI's reindex) re-adds everything anyway.
    const [addresses, entries] = await Promise.all([this.#redis.hlen(this.#keys.key('email')), this.#redis.zcard(this.key('email'))]);
    if (!options.force && addresses === entries) {
      await this.#redis.set(this.#keys.key('search', 'layout'), LAYOUT);
      return addresses;
    }
    let cursor = '0';
    let done = 0;
    do {
      const [next, flat] = await this.#redis.hscan(this.#keys.key('email'), cursor, 'COUNT', 1000);
      cursor = next;
      const ids: string[] = [];
      for (let i = 1; i < flat.length; i += 2) ids.push(flat[i]!);
      const subscribers = (await names(ids)).filter((s): s is Indexed => s !== null);
      await this.update(subscribers);
      done += subscribers.length;
      onProgress?.(done);
    } while (cursor !== '0');
    await this.#redis.set(this.#keys.key('search', 'layout'), LAYOUT);
    return done;
  }
}

async function exec(pipeline: ReturnType<Redis['pipeline']>): Promise<void> {
  for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
}
