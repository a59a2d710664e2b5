import { DepescheError } from '../errors.ts';
import type { ConsentEvent } from './consent.ts';
import type { PendingRequest, RedisSubscriberStore, SubscriberRecord } from './redis-store.ts';
import type { Consent, Subscriber } from './types.ts';

/**
 * One subscriber as `depesche subscribers show` and the ops API print them. With the
 * history it is the answer to an Art. 15 request and to "when and how did this person
 * consent?": every event of the consent log, oldest first, each consent record with the
 * exact words the reader saw.
 */
export interface SubscriberReport extends Pick<Subscriber, 'id' | 'email' | 'name' | 'lang' | 'status'> {
  /** The lists the reader is on now. */
  lists: string[];
  /** Lists they left, with when. */
  left: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  statusReason?: string;
  consent: Consent;
  request?: PendingRequest;
  history?: ConsentEvent[];
}

export async function findSubscriber(store: RedisSubscriberStore, emailOrId: string): Promise<SubscriberRecord> {
  const subscriber = emailOrId.includes('@') ? await store.findByEmail(emailOrId) : await store.get(emailOrId);
  if (!subscriber) {
    throw new DepescheError('E_NOT_FOUND', `No subscriber ${emailOrId.includes('@') ? 'with the address' : 'with the id'} ${emailOrId}.`, {
      hint: 'Addresses are matched without regard to case; check the spelling.',
    });
  }
  return subscriber;
}

export async function subscriberReport(store: RedisSubscriberStore, subscriber: SubscriberRecord, options: { history: boolean }): Promise<SubscriberReport> {
  const report: SubscriberReport = {
    id: subscriber.id,
    email: subscriber.email,
    name: subscriber.name,
    lang: subscriber.lang,
    status: subscriber.status,
    lists: subscriber.lists,
    left: subscriber.left,
    createdAt: subscriber.createdAt,
    updatedAt: subscriber.updatedAt,
    ...(subscriber.statusReason ? { statusReason: subscriber.statusReason } : {}),
    consent: subscriber.consent,
    ...(subscriber.request ? { request: subscriber.request } : {}),
  };
  if (options.history) {
    const log = await store.consentLog(subscriber.id);
    const texts = new Map<string, string | undefined>();
    for (const event of log) {
      const hash = event.wording?.hash;
      if (!hash) continue;
      if (!texts.has(hash)) texts.set(hash, (await store.wordingText(hash))?.text);
      const text = texts.get(hash);
      if (text !== undefined) event.wording = { ...event.wording, text };
    }
    report.history = log;
  }
  return report;
}
