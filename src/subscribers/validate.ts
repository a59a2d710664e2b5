import { isLang, type Lang } from '../core/lang.ts';
import { SUBSCRIBER_STATUSES, type SubscriberStatus } from './types.ts';

/**
 * Input checks shared by the CSV import, the CLI and the public app, so a row that
 * import rejects is rejected by the form too, with the same words. Every check takes
 * `unknown`: a JSON body may hold an object or an array where a string belongs, and
 * that is a 400 naming the field, never a 500.
 */

// Pragmatic, not RFC 5322: what real mailboxes look like and what SMTP servers accept.
// No quotes, no comments, no IP literals; a dot-separated domain with a letter TLD.
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/;

/** Control characters, C1 controls and the Unicode line and paragraph separators. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export const NAME_MAX = 200;
export const LIST_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export type Checked<T> = { ok: true; value: T } | { ok: false; reason: string };

/** A value for an error message that cannot throw, whatever a client sent (`{"toString":1}`). */
export function describeValue(raw: unknown): string {
  if (typeof raw === 'string') return raw.length > 80 ? `${raw.slice(0, 80)}…` : raw;
  if (raw === null || raw === undefined) return '';
  if (typeof raw === 'number' || typeof raw === 'boolean') return String(raw);
  return Array.isArray(raw) ? 'a list' : `a ${typeof raw}`;
}

/**
 * Trims and lower-cases the domain; the local part keeps its case, since a few servers
 * honour it, but uniqueness is checked on {@link emailKey}.
 */
export function normalizeEmail(raw: unknown): Checked<string> {
  if (raw !== undefined && raw !== null && typeof raw !== 'string') return { ok: false, reason: 'email must be text' };
  if (typeof raw !== 'string' || raw.trim() === '') return { ok: false, reason: 'email is missing' };
  const value = raw.trim();
  if (CONTROL.test(value)) return { ok: false, reason: 'email contains control characters or line breaks' };
  if (value.length > 254) return { ok: false, reason: 'email is longer than 254 characters' };
  const at = value.lastIndexOf('@');
  if (at < 1 || at > 64 || !EMAIL.test(value) || value.includes('..') || value.startsWith('.') || value[at - 1] === '.') {
    return { ok: false, reason: `email "${value}" is not a valid address` };
  }
  return { ok: true, value: value.slice(0, at) + value.slice(at).toLowerCase() };
}

/** The case-insensitive identity of an address: two spellings that differ only in case are one subscriber. */
export function emailKey(email: string): string {
  return email.toLowerCase();
}

/** Names end up in greetings and headers: no control characters, no CR/LF, bounded length. */
export function checkName(raw: unknown): Checked<string> {
  if (raw === undefined || raw === null) return { ok: true, value: '' };
  if (typeof raw !== 'string') return { ok: false, reason: 'name must be text' };
  if (CONTROL.test(raw)) return { ok: false, reason: 'name contains control characters or line breaks' };
  const value = raw.trim().replace(/\s+/g, ' ');
  if (value.length > NAME_MAX) return { ok: false, reason: `name is longer than ${NAME_MAX} characters` };
  return { ok: true, value };
}

export function checkLang(raw: unknown): Checked<Lang> {
  const value = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  return isLang(value) ? { ok: true, value } : { ok: false, reason: `lang must be "de" or "en", got "${describeValue(raw)}"` };
}

export function checkStatus(raw: unknown): Checked<SubscriberStatus> {
  const value = typeof raw === 'string' ? raw.trim().toLowerCase() : raw;
  return (SUBSCRIBER_STATUSES as readonly unknown[]).includes(value)
    ? { ok: true, value: value as SubscriberStatus }
    : { ok: false, reason: `status must be one of ${SUBSCRIBER_STATUSES.join(', ')}, got "${describeValue(raw)}"` };
}

export function checkListName(raw: unknown): Checked<string> {
  return typeof raw === 'string' && LIST_NAME.test(raw)
    ? { ok: true, value: raw }
    : { ok: false, reason: `list must be 1–64 letters, digits, dot, dash or underscore, got "${describeValue(raw)}"` };
}
