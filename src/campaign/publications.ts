import type { Redis } from 'ioredis';
import type { Keyspace } from '../config/redis.ts';
import type { Edition } from '../core/edition.ts';
import type { Lang } from '../core/lang.ts';

/**
 * Issues published on purpose (`depesche publish <slug>`): editions compiled once and
 * frozen here, for the public archive to serve beside the editions of campaigns that
 * finished sending. Like a campaign's, they never change after the fact; publishing again
 * replaces them with a fresh compile, and `withdraw` takes them off the archive.
 *
 * Keys: `publication:<slug>` (hash lang → edition JSON) and `publications` (sorted set
 * slug → published at, ms).
 */
export type PublishedEdition = Pick<Edition, 'slug' | 'lang' | 'title' | 'subject' | 'preheader' | 'html' | 'text' | 'greeting'>;

export interface Publication {
  slug: string;
  publishedAt: number;
  langs: Lang[];
}

export class PublicationStore {
  readonly #redis: Redis;
  readonly #keys: Keyspace;

  constructor(redis: Redis, keys: Keyspace) {
    this.#redis = redis;
    this.#keys = keys;
  }

  #editions(slug: string): string {
    return this.#keys.key('publication', slug);
  }

  async publish(slug: string, editions: readonly Edition[], at = Date.now()): Promise<Publication> {
    const frozen = editions.map(({ slug: s, lang, title, subject, preheader, html, text, greeting }): PublishedEdition => ({ slug: s, lang, title, subject, preheader, html, text, greeting }));
    const multi = this.#redis.multi();
    multi.del(this.#editions(slug));
    multi.hset(this.#editions(slug), Object.fromEntries(frozen.map((e) => [e.lang, JSON.stringify(e)])));
    multi.zadd(this.#keys.key('publications'), at, slug);
    await multi.exec();
    return { slug, publishedAt: at, langs: frozen.map((e) => e.lang) };
  }

  /** Takes an issue off the archive; false when it was not published. */
  async withdraw(slug: string): Promise<boolean> {
    const [[, removed] = [null, 0]] = ((await this.#redis.multi().zrem(this.#keys.key('publications'), slug).del(this.#editions(slug)).exec()) ?? []) as [unknown, number][];
    return removed === 1;
  }

  /** Newest first. */
  async list(): Promise<Publication[]> {
    const flat = await this.#redis.zrevrange(this.#keys.key('publications'), 0, -1, 'WITHSCORES');
    const out: Publication[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const slug = flat[i]!;
      out.push({ slug, publishedAt: Number(flat[i + 1]), langs: (await this.#redis.hkeys(this.#editions(slug))).sort() as Lang[] });
    }
    return out;
  }

  async editions(slug: string): Promise<PublishedEdition[]> {
    return Object.values(await this.#redis.hgetall(this.#editions(slug))).map((text) => JSON.parse(text) as PublishedEdition);
  }
}
