import type { Lang } from '../core/lang.ts';

export const SUBSCRIBER_STATUSES = ['pending', 'active', 'unsubscribed', 'bounced', 'complained'] as const;
export type SubscriberStatus = (typeof SUBSCRIBER_STATUSES)[number];

/**
 * The consent now in force, as German law (and any auditor) wants it for double opt-in:
 * the request (time, IP, form, wording shown), the confirmation mail and the click that
 * confirmed it. The whole history, every earlier consent included, is in the consent log.
 */
export interface Consent {
  signupAt?: string;
  signupIp?: string;
  /** Where the address came from: `form`, `preferences`, `import:<file>`, `cli`. */
  source?: string;
  /** The page the request was posted from. */
  formUrl?: string;
  /** The consent text shown with the form: its version in locales/ and a hash of its words. */
  wording?: { version: string; hash: string };
  confirmationSentAt?: string;
  /** Message-ID of the confirmation mail whose link was followed. */
  confirmationMessageId?: string;
  confirmedAt?: string;
  confirmedIp?: string;
}

export interface Subscriber {
  id: string;
  /** Normalized: trimmed, domain lower-cased; unique case-insensitively. */
  email: string;
  name: string;
  lang: Lang;
  status: SubscriberStatus;
  createdAt: string;
  updatedAt: string;
  consent: Consent;
}

export interface ListPage {
  ids: string[];
  /** Pass back for the next page; null when the list is exhausted. */
  next: string | null;
}

/**
 * What the campaign code needs from wherever subscribers live. Iteration is by cursor in
 * a stable order (the order members joined), a page at a time, never the whole list.
 */
export interface SubscriberStore {
  get(id: string): Promise<Subscriber | null>;
  /** One round trip for a batch; a missing id yields null in its place. */
  getMany(ids: string[]): Promise<(Subscriber | null)[]>;
  findByEmail(email: string): Promise<Subscriber | null>;
  listExists(list: string): Promise<boolean>;
  page(list: string, cursor: string | null, limit: number): Promise<ListPage>;
  /** Active members of a list by language, for dry runs and the missing-edition check. */
  countActiveByLang(list: string): Promise<Record<Lang, number>>;
  setStatus(id: string, status: SubscriberStatus, reason?: string): Promise<void>;
}
