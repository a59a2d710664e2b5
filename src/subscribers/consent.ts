import { createHash } from 'node:crypto';
import type { Lang } from '../core/lang.ts';
import type { SubscriberStatus } from './types.ts';

/**
 * Consent evidence. Courts ask who agreed to what, when, where and how that was checked, and
 * under German law (DSGVO Art. 7(1)) the publisher must prove it. For each confirmed request
 * the consent log keeps one record with:
 *
 * - the wording the reader saw with the form: its version (from `locales/`) and a SHA-256
 *   of its exact text; the text itself is archived in Redis under that hash the first time
 *   it is used, so a record keeps its words after the locale file moves on;
 * - the form URL, the IP and time of the request;
 * - the Message-ID of the confirmation mail, whose link alone could confirm;
 * - the IP and time of the confirmation (the button press, never a link scanner's GET).
 *
 * Every other event in a reader's life (leaving a list, language changes, unsubscribes,
 * bounces, complaints, ops actions with who and why) goes to the same log.
 */
export interface Wording {
  /** The `public.consent.version` it was shown under. */
  version: string;
  lang: Lang;
  text: string;
  /** `sha256:<hex>` of the text. */
  hash: string;
}

export function wording(version: string, lang: Lang, text: string): Wording {
  return { version, lang, text, hash: `sha256:${createHash('sha256').update(text, 'utf8').digest('hex')}` };
}

/** Who made an ops change and why; both land in the reader's consent log. */
export interface Actor {
  /** e.g. `cli:anna`, `admin-api`. */
  by: string;
  reason: string;
}

/** One entry of a subscriber's consent log. */
export interface ConsentEvent {
  at: string;
  /**
   * `requested` (a form or preference-centre request, mailed), `confirmation-sent`,
   * `confirmation-failed`, `confirmed` (the consent record), `left` (one list),
   * `unsubscribed`, `lang-changed`, `status-changed`, `bounced`, `complained`,
   * `reactivated`; `signup` and `confirmed` without a request come from before requests.
   */
  event: string;
  ip?: string;
  via?: string;
  source?: string;
  lang?: Lang;
  status?: SubscriberStatus;
  previousStatus?: SubscriberStatus;
  reason?: string;
  /** Ops actions: who. */
  by?: string;
  list?: string;
  lists?: string[];
  formUrl?: string;
  wording?: { version?: string; hash?: string; text?: string };
  messageId?: string;
  /** `confirmed`: the request this confirmation applied. */
  request?: { at?: string; ip?: string; formUrl?: string; source?: string };
  /** `confirmed` by a link mailed before requests had nonces. */
  legacyLink?: boolean;
}

export function consentEvent(event: string, details: Omit<ConsentEvent, 'at' | 'event'> = {}, at = new Date()): ConsentEvent {
  const out: ConsentEvent = { at: at.toISOString(), event };
  for (const [key, value] of Object.entries(details)) {
    if (value !== undefined && value !== '') (out as unknown as Record<string, unknown>)[key] = value;
  }
  return out;
}
