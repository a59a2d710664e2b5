import { troubledRecipients } from '../../campaign/campaign-answers.ts';
import type { RedisSubscriberStore } from '../../subscribers/redis-store.ts';

/** A bounced or failed recipient of a campaign, as its page lists them. */
export interface TroubledReader {
  id: string;
  /** Null once they were erased. */
  email: string | null;
  result: 'bounced' | 'failed';
  note: string;
}

export type TroubledReaders = (campaignId: string) => Promise<{ readers: TroubledReader[]; complete: boolean }>;

/** The campaign page's list of who bounced or failed, with their addresses; none without a subscriber store. */
export function troubledReaders(store: RedisSubscriberStore | undefined): TroubledReaders | undefined {
  if (!store) return undefined;
  return async (campaignId) => {
    const { recipients, complete } = await troubledRecipients(store.redis, store.keys, campaignId);
    const subscribers = recipients.length ? await store.getMany(recipients.map((r) => r.id)) : [];
    return { readers: recipients.map((r, i) => ({ ...r, email: subscribers[i]?.email ?? null })), complete };
  };
}
