// The one place the public side reads the campaign module: the archive's editions and the
// list a mail's links came from. Everything the public app knows of campaigns passes here.
import type { Redis } from 'ioredis';
import { CampaignRepository } from '../campaign/campaigns.ts';
import { PublicationStore } from '../campaign/publications.ts';
import type { Keyspace } from '../config/redis.ts';
import type { Edition } from '../core/edition.ts';
import type { Lang } from '../core/lang.ts';
import type { ArchivedEdition, ArchiveEntry, ArchiveSource } from '../server/public/archive.ts';
import type { MailOrigins } from '../subscribers/subscriptions.ts';

type FrozenForArchive = Pick<Edition, 'slug' | 'lang' | 'title' | 'subject' | 'preheader' | 'html' | 'greeting'>;

/** What this adapter needs from the campaign repository: three read methods. */
export interface CampaignReads {
  /** Campaign ids, newest first. */
  ids(limit: number): Promise<string[]>;
  get(id: string): Promise<{ slug: string; list: string; state: string; finishedAt?: number } | null>;
  /** The editions frozen into the campaign: what was sent. */
  editions(id: string): Promise<FrozenForArchive[]>;
}

export interface ArchiveAdapterOptions {
  /** How long the list of editions is kept in memory. @defaultValue 60_000 */
  cacheMs?: number;
  /** How many of the newest campaigns are looked at. @defaultValue 1000 */
  campaigns?: number;
}

interface Source {
  entry: ArchiveEntry;
  load: () => Promise<FrozenForArchive[]>;
}

/**
 * The archive over campaigns that finished sending (state `done`) and issues published on
 * purpose, newest first; for one issue and language the newest of them wins. Campaigns that
 * are scheduled, sending, paused or cancelled are not the archive's, and nothing is ever
 * compiled here.
 */
export function archiveFromCampaigns(
  campaigns: CampaignReads,
  publications: Pick<PublicationStore, 'list' | 'editions'>,
  options: ArchiveAdapterOptions = {},
): ArchiveSource & MailOrigins {
  const cacheMs = options.cacheMs ?? 60_000;
  // A finished campaign never changes: its entries are read once per process.
  const finished = new Map<string, ArchiveEntry[]>();
  let index: { at: number; sources: Map<string, Source> } | undefined;
  const lists = new Map<string, string | null>();

  const entriesOf = (editions: FrozenForArchive[], at: number): ArchiveEntry[] =>
    editions.map((e) => ({ slug: e.slug, lang: e.lang, title: e.title, subject: e.subject, preheader: e.preheader, at }));

  async function build(): Promise<Map<string, Source>> {
    const sources = new Map<string, Source>();
    const offer = (entry: ArchiveEntry, load: () => Promise<FrozenForArchive[]>) => {
      const key = `${entry.slug}/${entry.lang}`;
      const held = sources.get(key);
      if (!held || held.entry.at < entry.at) sources.set(key, { entry, load });
    };
    for (const id of await campaigns.ids(options.campaigns ?? 1000)) {
      let entries = finished.get(id);
      if (!entries) {
        const campaign = await campaigns.get(id);
        if (!campaign || campaign.state !== 'done' || !campaign.finishedAt) continue;
        entries = entriesOf(await campaigns.editions(id), campaign.finishedAt);
        finished.set(id, entries);
      }
      for (const entry of entries) offer(entry, () => campaigns.editions(id));
    }
    for (const publication of await publications.list()) {
      const editions = await publications.editions(publication.slug);
      for (const entry of entriesOf(editions, publication.publishedAt)) offer(entry, () => publications.editions(publication.slug));
    }
    return sources;
  }

  async function current(): Promise<Map<string, Source>> {
    if (!index || Date.now() - index.at > cacheMs) index = { at: Date.now(), sources: await build() };
    return index.sources;
  }

  return {
    async entries() {
      return [...(await current()).values()].map((s) => s.entry).sort((a, b) => b.at - a.at);
    },
    async edition(slug: string, lang: Lang): Promise<ArchivedEdition | null> {
      const source = (await current()).get(`${slug}/${lang}`);
      if (!source) return null;
      const edition = (await source.load()).find((e) => e.lang === lang);
      return edition ? { ...source.entry, html: edition.html, greeting: edition.greeting } : null;
    },
    async listOf(campaignId: string) {
      if (!/^[A-Za-z0-9._-]{1,80}$/.test(campaignId)) return null;
      if (!lists.has(campaignId)) {
        const campaign = await campaigns.get(campaignId);
        if (!campaign) return null;
        lists.set(campaignId, campaign.list || null);
        if (lists.size > 1000) lists.delete(lists.keys().next().value!);
      }
      return lists.get(campaignId) ?? null;
    },
  };
}

/** The adapter over the campaign repository and the publications in Redis. */
export function campaignArchive(redis: Redis, keys: Keyspace, options: ArchiveAdapterOptions = {}): ArchiveSource & MailOrigins {
  const repository = new CampaignRepository(redis, keys);
  return archiveFromCampaigns(
    { ids: (limit) => repository.ids(limit), get: (id) => repository.get(id), editions: (id) => repository.editions(id) },
    new PublicationStore(redis, keys),
    options,
  );
}
