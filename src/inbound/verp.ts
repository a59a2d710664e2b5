import { createHmac, timingSafeEqual } from 'node:crypto';
import { DepescheError } from '../errors.ts';

/**
 * The VERP token: a signed name for (campaign, reader) that fits an address's local part.
 *
 * It goes into the envelope sender of every message (`b-<token>@RETURN_PATH_DOMAIN`) and
 * into the List-Unsubscribe mailto (`unsubscribe+<token>@domain`), so whatever comes back to
 * one of those addresses says, signed, which campaign and which reader it is about.
 *
 * Constraints and how the layout meets them:
 * - A local part has at most 64 characters (RFC 5321), prefix included. `unsubscribe+`
 *   leaves 52, `b-` leaves 62.
 * - Mail systems may change the case of a local part, so the token is base32 (RFC 4648,
 *   `a-z2-7`), written in lower case and read in either.
 * - Ids are opaque strings (subscriber ids are becoming random), so they are packed, not
 *   parsed as numbers: each character takes 6 bits from the base64url alphabet
 *   (`0-9A-Za-z-_`), which covers numeric, hex, base36, base64url, nanoid and ULID ids.
 *
 * Bits: `[3 version][5 campaign id length][6 per id character …][64 MAC]`, zero-padded to
 * a multiple of 5 and written 5 bits a character. The pad is always under 5 bits, so the
 * number of id characters follows from the token length alone.
 *
 * The MAC is HMAC-SHA256 over purpose and ids under DEPESCHE_SECRET, truncated to 64 bits.
 * That is enough because a token can only be checked online: a guess costs one SMTP
 * transaction against `depesche inbound`, which refuses a bad token at RCPT time. At ten
 * thousand guesses a second a forger would need about 29 million years for an even chance,
 * and a success would unsubscribe or bounce one reader. (NIST SP 800-107 allows tags of 64
 * bits where verification attempts are limited; SRS and BATV sign return paths with 24.)
 * The bits saved over a full MAC buy room for ids: with `unsubscribe+`, 31 id characters
 * fit, e.g. a 15-character campaign id and a 16-character subscriber id.
 *
 * The purpose (bounce or unsubscribe) is part of the MAC, so a return-path token copied
 * from a mail's headers does not work as an unsubscribe token.
 */

export type VerpPurpose = 'bounce' | 'unsubscribe';

export interface VerpClaims {
  campaignId: string;
  subscriberId: string;
}

/** Bits of HMAC-SHA256 kept in a token; see the module comment for why 64 are enough. */
export const VERP_MAC_BITS = 64;
const VERSION = 1;
const HEADER_BITS = 8;
const ID_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_';
const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const MAX_CAMPAIGN_ID = 31;

const ID_INDEX = new Map([...ID_ALPHABET].map((c, i) => [c, i]));
const BASE32_INDEX = new Map([...BASE32].map((c, i) => [c, i]));

function mac(secret: string, purpose: VerpPurpose, claims: VerpClaims): Buffer {
  // NUL cannot occur in an id (the alphabet above), so the fields cannot run into each other.
  return createHmac('sha256', secret)
    .update(`depesche-verp\0${VERSION}\0${purpose}\0${claims.campaignId}\0${claims.subscriberId}`)
    .digest()
    .subarray(0, VERP_MAC_BITS / 8);
}

/** Characters a token for these ids takes. */
export function verpTokenLength(claims: VerpClaims): number {
  return Math.ceil((HEADER_BITS + 6 * (claims.campaignId.length + claims.subscriberId.length) + VERP_MAC_BITS) / 5);
}

/** How many id characters (campaign and subscriber together) fit beside a prefix in a 64-character local part. */
export function verpIdBudget(prefix: string): number {
  return Math.floor((5 * (64 - prefix.length) - HEADER_BITS - VERP_MAC_BITS) / 6);
}

function checkId(name: string, id: string, max: number): void {
  if (id.length === 0 || id.length > max || [...id].some((c) => !ID_INDEX.has(c))) {
    throw new DepescheError('E_INPUT', `Cannot put ${name} "${id.slice(0, 40)}" into a return-path token.`, {
      hint: `Ids in return-path tokens use 1–${max} characters of 0-9, A-Z, a-z, "-" and "_".`,
    });
  }
}

// Bits in, base32 characters out, five at a time. Values are at most 8 bits wide, so the
// accumulator never holds more than 12 bits.
class BitWriter {
  #out = '';
  #acc = 0;
  #bits = 0;
  write(value: number, bits: number): void {
    this.#acc = (this.#acc << bits) | value;
    this.#bits += bits;
    while (this.#bits >= 5) {
      this.#bits -= 5;
      this.#out += BASE32[(this.#acc >> this.#bits) & 31];
    }
    this.#acc &= (1 << this.#bits) - 1;
  }
  finish(): string {
    if (this.#bits > 0) this.write(0, 5 - this.#bits);
    return this.#out;
  }
}

class BitReader {
  readonly #values: number[];
  #next = 0;
  #acc = 0;
  #bits = 0;
  constructor(values: number[]) {
    this.#values = values;
  }
  get remaining(): number {
    return (this.#values.length - this.#next) * 5 + this.#bits;
  }
  read(bits: number): number {
    while (this.#bits < bits) {
      this.#acc = (this.#acc << 5) | this.#values[this.#next++]!;
      this.#bits += 5;
    }
    this.#bits -= bits;
    const value = (this.#acc >> this.#bits) & ((1 << bits) - 1);
    this.#acc &= (1 << this.#bits) - 1;
    return value;
  }
}

/** A token for these ids and this purpose, lower-case base32. */
export function encodeVerpToken(claims: VerpClaims, purpose: VerpPurpose, secret: string): string {
  checkId('the campaign id', claims.campaignId, MAX_CAMPAIGN_ID);
  checkId('the subscriber id', claims.subscriberId, 255);
  const out = new BitWriter();
  out.write(VERSION, 3);
  out.write(claims.campaignId.length, 5);
  for (const c of claims.campaignId + claims.subscriberId) out.write(ID_INDEX.get(c)!, 6);
  for (const byte of mac(secret, purpose, claims)) out.write(byte, 8);
  return out.finish();
}

const invalid = (message: string) =>
  new DepescheError('E_TOKEN', message, { hint: 'Only addresses from mails Depesche sent, signed with this DEPESCHE_SECRET, are accepted.' });

/**
 * The ids of a genuine token for `purpose`, read in any letter case. Every secret in
 * `secrets` is tried (the current one first), so tokens in mails sent before a secret
 * rotation keep working while the old secret is listed. Throws E_TOKEN otherwise.
 */
export function decodeVerpToken(token: string, purpose: VerpPurpose, secrets: string | readonly string[]): VerpClaims {
  const values: number[] = [];
  for (const c of token.toLowerCase()) {
    const value = BASE32_INDEX.get(c);
    if (value === undefined) throw invalid('The return-path token has characters outside base32.');
    values.push(value);
  }
  const input = new BitReader(values);
  if (input.remaining < HEADER_BITS + 12 + VERP_MAC_BITS) throw invalid('The return-path token is too short.');
  if (input.read(3) !== VERSION) throw invalid('The return-path token has an unknown version.');
  const campaignLength = input.read(5);
  const idChars = Math.floor((input.remaining - VERP_MAC_BITS) / 6);
  if (campaignLength === 0 || idChars <= campaignLength) throw invalid('The return-path token is malformed.');
  let ids = '';
  for (let i = 0; i < idChars; i++) ids += ID_ALPHABET[input.read(6)];
  const given = Buffer.alloc(VERP_MAC_BITS / 8);
  for (let i = 0; i < given.length; i++) given[i] = input.read(8);
  // What is left is padding; only the canonical (zero) form is genuine, so a token has one spelling.
  if (input.remaining >= 5 || input.read(input.remaining) !== 0) throw invalid('The return-path token is malformed.');
  const claims = { campaignId: ids.slice(0, campaignLength), subscriberId: ids.slice(campaignLength) };
  for (const secret of typeof secrets === 'string' ? [secrets] : secrets) {
    if (timingSafeEqual(given, mac(secret, purpose, claims))) return claims;
  }
  throw invalid('The return-path token is not genuine.');
}
