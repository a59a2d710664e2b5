import addressparser from 'nodemailer/lib/addressparser';
import type { Config } from '../config/schema.ts';
import { DepescheError, isDepescheError } from '../errors.ts';
import { decodeVerpToken, encodeVerpToken, verpTokenLength, type VerpClaims } from './verp.ts';

/**
 * The addresses mail comes back to, and what an address we receive means. One place
 * decides both, so the sending side (envelope sender, List-Unsubscribe mailto) and the
 * receiving side (`depesche inbound` at RCPT time, the parsers) cannot drift apart.
 *
 * - `b-<token>@RETURN_PATH_DOMAIN`: a message's envelope sender (VERP). Bounces and most
 *   auto-replies come back here.
 * - `<mailbox>+<token>@<domain>`: the List-Unsubscribe mailto, e.g. `unsubscribe+…@example.org`.
 * - `<mailbox>@<domain>`: the same mailto without a token, in mails sent before tokens.
 * - `postmaster@`, `abuse@`, `fbl@` at RETURN_PATH_DOMAIN: reports (RFC 5321 wants a
 *   postmaster; complaint feedback loops are registered to `fbl@`).
 */

export const BOUNCE_PREFIX = 'b-';
export const REPORT_MAILBOXES = ['postmaster', 'abuse', 'fbl'] as const;
const LOCAL_PART_MAX = 64;

export interface ReturnAddressSettings {
  /** Domain of the per-message envelope sender; without it the envelope sender stays MAIL_FROM. */
  returnPathDomain?: string;
  /** The List-Unsubscribe mailbox, e.g. `unsubscribe@example.org`. */
  unsubscribeMailbox: string;
  /** Signing secret first, then earlier ones whose tokens are still accepted. */
  secrets: readonly string[];
}

export type RecognizedAddress =
  | { kind: 'bounce'; claims: VerpClaims }
  | { kind: 'unsubscribe'; claims: VerpClaims }
  | { kind: 'unsubscribe-legacy' }
  | { kind: 'report'; mailbox: (typeof REPORT_MAILBOXES)[number] }
  /** Our domain and form, but the token is not genuine: refuse it, and say so in the log. */
  | { kind: 'forged'; reason: string };

/** The address part of MAIL_FROM, lower-cased domain. */
function mailFromAddress(mailFrom: string): string {
  const [first] = addressparser(mailFrom, { flatten: true });
  const address = first && 'address' in first ? (first.address ?? '') : '';
  if (!address.includes('@')) {
    throw new DepescheError('E_CONFIG', `MAIL_FROM "${mailFrom}" has no usable address.`, {
      hint: 'Set MAIL_FROM like `Briefing <briefing@example.org>`.',
    });
  }
  return address;
}

/** The settings from the resolved config: UNSUBSCRIBE_MAILTO, or unsubscribe@ the MAIL_FROM domain. */
export function returnAddressSettings(
  config: Pick<Config, 'RETURN_PATH_DOMAIN' | 'UNSUBSCRIBE_MAILTO' | 'MAIL_FROM'>,
  secrets: readonly string[],
): ReturnAddressSettings {
  const mailbox = config.UNSUBSCRIBE_MAILTO ?? `unsubscribe@${mailFromAddress(config.MAIL_FROM).split('@')[1]}`;
  return {
    ...(config.RETURN_PATH_DOMAIN ? { returnPathDomain: config.RETURN_PATH_DOMAIN.toLowerCase() } : {}),
    unsubscribeMailbox: mailbox,
    secrets,
  };
}

/**
 * An address fit for a log line: a token shortened to its first characters, since a whole
 * return-path token would let anyone who reads the log bounce that reader.
 */
export function addressForLog(address: string): string {
  return address.replace(/^(b-|[^@+]+\+)([a-z2-7]{6})[a-z2-7]+@/i, '$1$2…@');
}

function split(address: string): { local: string; domain: string } | null {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) return null;
  return { local: address.slice(0, at), domain: address.slice(at + 1).toLowerCase() };
}

export class ReturnAddresses {
  readonly settings: ReturnAddressSettings;
  readonly #unsubscribeLocal: string;
  readonly #unsubscribeDomain: string;

  constructor(settings: ReturnAddressSettings) {
    if (settings.secrets.length === 0) throw new DepescheError('E_CONFIG', 'Return-path tokens need DEPESCHE_SECRET.');
    const parts = split(settings.unsubscribeMailbox);
    if (!parts) {
      throw new DepescheError('E_CONFIG', `UNSUBSCRIBE_MAILTO "${settings.unsubscribeMailbox}" is not an address.`, {
        hint: 'Set it like `unsubscribe@example.org`, or leave it empty for unsubscribe@<MAIL_FROM domain>.',
      });
    }
    this.settings = settings;
    this.#unsubscribeLocal = parts.local.toLowerCase();
    this.#unsubscribeDomain = parts.domain;
  }

  /** The domains `depesche inbound` accepts mail for. */
  get domains(): string[] {
    return [...new Set([this.settings.returnPathDomain, this.#unsubscribeDomain].filter((d): d is string => Boolean(d)))];
  }

  #token(prefix: string, claims: VerpClaims, purpose: 'bounce' | 'unsubscribe'): string {
    const length = prefix.length + verpTokenLength(claims);
    if (length > LOCAL_PART_MAX) {
      throw new DepescheError('E_INPUT', `The ${purpose} address for campaign ${claims.campaignId} would have a ${length}-character local part (at most ${LOCAL_PART_MAX}).`, {
        hint: purpose === 'unsubscribe' ? 'Use a shorter UNSUBSCRIBE_MAILTO local part, e.g. `unsubscribe@`.' : 'Campaign and subscriber ids are too long for a return path.',
      });
    }
    return encodeVerpToken(claims, purpose, this.settings.secrets[0]!);
  }

  /** The envelope sender for one message, or undefined when RETURN_PATH_DOMAIN is not set. */
  bounceAddress(claims: VerpClaims): string | undefined {
    if (!this.settings.returnPathDomain) return undefined;
    return `${BOUNCE_PREFIX}${this.#token(BOUNCE_PREFIX, claims, 'bounce')}@${this.settings.returnPathDomain}`;
  }

  /** The List-Unsubscribe mailto address for one message. */
  unsubscribeAddress(claims: VerpClaims): string {
    const prefix = `${this.#unsubscribeLocal}+`;
    return `${prefix}${this.#token(prefix, claims, 'unsubscribe')}@${this.#unsubscribeDomain}`;
  }

  /**
   * What an address we received mail for means; null when it is none of ours (a stranger
   * trying to relay, or a local part we do not serve). Case-insensitive throughout.
   */
  recognize(address: string): RecognizedAddress | null {
    const parts = split(address.trim());
    if (!parts || parts.local.length > LOCAL_PART_MAX) return null;
    const local = parts.local.toLowerCase();
    try {
      if (parts.domain === this.settings.returnPathDomain) {
        if (local.startsWith(BOUNCE_PREFIX)) {
          return { kind: 'bounce', claims: decodeVerpToken(local.slice(BOUNCE_PREFIX.length), 'bounce', this.settings.secrets) };
        }
        const report = REPORT_MAILBOXES.find((m) => m === local);
        if (report) return { kind: 'report', mailbox: report };
      }
      if (parts.domain === this.#unsubscribeDomain) {
        if (local === this.#unsubscribeLocal) return { kind: 'unsubscribe-legacy' };
        if (local.startsWith(`${this.#unsubscribeLocal}+`)) {
          return { kind: 'unsubscribe', claims: decodeVerpToken(local.slice(this.#unsubscribeLocal.length + 1), 'unsubscribe', this.settings.secrets) };
        }
      }
    } catch (error) {
      if (isDepescheError(error) && error.code === 'E_TOKEN') return { kind: 'forged', reason: error.message };
      throw error;
    }
    return null;
  }
}
