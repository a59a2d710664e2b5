import { createHash, createPrivateKey, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.ts';
import { DepescheError } from '../errors.ts';
import { hasOnlyCrlf, isCanonical, markCanonical, toCrlf } from './canonical.ts';

/**
 * DKIM (RFC 6376) for finished messages, with Node's crypto and nothing per message that
 * could be done once.
 *
 * Why not nodemailer's signer: it takes the key as PEM text and parses it again for every
 * message (about 450 µs of an 880 µs RSA signature), canonicalises the body in a
 * JavaScript byte loop (650–770 µs for 80 KB) and only works as a stream stage, which
 * turns off the raw fast path. Here the key is parsed once into a KeyObject; the body is
 * checked with native `indexOf` for what relaxed canonicalisation would change (tabs,
 * runs of spaces, spaces before a line end) and, as in every message the campaign
 * builder makes, when nothing would change it is hashed as it is, in one native call.
 *
 * What is the same for every recipient of an edition could be cached further, but it does
 * not pay: the body hash cannot be reused (merge fields sit in the body) and SHA-256 cannot
 * skip the recipient's bytes, so only the prefix before the first merge field could be
 * hashed once and its state cloned (`Hash.copy()`). In the sample briefing that prefix is
 * the MIME part header and the text part's first lines, under 1 KB of 70 KB: a clone saves
 * less than it costs (measured in `npm run bench -- dkim`). The static headers'
 * canonical form is a few microseconds. What remains per message is the hash of the body
 * (about 50 µs for 70 KB) and the private-key operation itself (RSA-2048 about 430 µs,
 * Ed25519 about 50 µs), which no cache can avoid because To, Message-ID and
 * List-Unsubscribe differ per recipient and must be signed (RFC 8058).
 *
 * Relaxed/relaxed, SHA-256; an RSA key and an Ed25519 key (RFC 8463) each add their own
 * DKIM-Signature field, so receivers that know Ed25519 can use it and the rest use RSA.
 */

export type DkimAlgorithm = 'rsa-sha256' | 'ed25519-sha256';

export interface DkimKey {
  selector: string;
  /** A parsed private key: RSA (at least 1024 bits, 2048 recommended) or Ed25519. */
  privateKey: KeyObject;
}

export interface DkimOptions {
  domain: string;
  keys: DkimKey[];
  /** Header field names to sign, colon-separated; those present are signed. @defaultValue DKIM_HEADERS */
  headers?: string;
}

export interface DkimSigner {
  /** The message with a DKIM-Signature field per key in front (made CRLF throughout and CRLF-terminated first, as SMTP will send it). */
  sign(message: Buffer): Buffer;
  /**
   * Just the DKIM-Signature field(s), CRLF-terminated, for a message with CRLF line ends,
   * given whole or as the parts it will be written in. Parts that are whole lines (as the
   * campaign builder's are) have their relaxed form cached per part, so the large parts an
   * edition shares are canonicalised once, not once per recipient.
   */
  signatureFields(message: Buffer | readonly Buffer[]): string;
}

/**
 * Headers DKIM signs: nodemailer's list plus List-Unsubscribe-Post, which RFC 8058 wants
 * covered so nobody can add one-click unsubscribe to a forwarded copy.
 */
export const DKIM_HEADERS =
  'From:Sender:Reply-To:Subject:Date:Message-ID:To:Cc:MIME-Version:Content-Type:Content-Transfer-Encoding:' +
  'Content-Language:List-Id:List-Unsubscribe:List-Unsubscribe-Post:List-Help:List-Subscribe:List-Post:List-Owner:List-Archive';

const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
const TAB = 0x09;
const TWO_SPACES = Buffer.from('  ');
const SPACE_CRLF = Buffer.from(' \r\n');

interface PreparedKey {
  algorithm: DkimAlgorithm;
  key: KeyObject;
  /** Everything of the field before `bh=`, which is the same for every message. */
  head: string;
}

export function createDkimSigner(options: DkimOptions): DkimSigner {
  const domain = tagValue(options.domain, 'domain');
  if (options.keys.length === 0) throw new DepescheError('E_CONFIG', 'DKIM needs at least one key.');
  const wanted = (options.headers ?? DKIM_HEADERS)
    .split(':')
    .map((name) => name.trim().toLowerCase())
    .filter(Boolean);
  const wantedSet = new Set(wanted);
  const keys: PreparedKey[] = options.keys.map(({ selector, privateKey }) => {
    const algorithm = algorithmOf(privateKey);
    return {
      algorithm,
      key: privateKey,
      head: `DKIM-Signature: v=1; a=${algorithm}; c=relaxed/relaxed; d=${domain};\r\n s=${tagValue(selector, 'selector')}; q=dns/txt;`,
    };
  });

  const signatureFields = (message: Buffer | readonly Buffer[]): string => {
    const { head, body } = splitMessage(message);
    const hash = createHash('sha256');
    for (const part of relaxedBodyParts(body)) hash.update(part);
    const bodyHash = hash.digest('base64');
    const { names, data } = relaxedHeaders(head, wanted, wantedSet);
    let out = '';
    for (const key of keys) {
      const unsigned = `${key.head}\r\n h=${foldList(names)};\r\n bh=${bodyHash};\r\n b=`;
      const signed = `${data}dkim-signature:${relaxedValue(unsigned.slice(unsigned.indexOf(':') + 1))}`;
      const signature =
        key.algorithm === 'rsa-sha256'
          ? cryptoSign('sha256', Buffer.from(signed, 'latin1'), key.key)
          : // RFC 8463: Ed25519 signs the SHA-256 digest of the header data (PureEdDSA).
            cryptoSign(null, createHash('sha256').update(signed, 'latin1').digest(), key.key);
      out += `${unsigned}${foldBase64(signature.toString('base64'))}\r\n`;
    }
    return out;
  };

  return {
    signatureFields,
    sign(message) {
      // Signed as it will travel: SMTP sends bare CR and LF as CRLF and ends the data with a line end.
      let body = isCanonical(message) || hasOnlyCrlf(message) ? message : toCrlf(message);
      if (!endsInCrlf(body)) body = Buffer.concat([body, CRLF]);
      const fields = Buffer.from(signatureFields(body), 'latin1');
      const signed = Buffer.concat([fields, body]);
      // A clean message stays clean with DKIM fields (CRLF lines, none starting with a dot) in front.
      if (isCanonical(message)) markCanonical(signed);
      return signed;
    },
  };
}

function algorithmOf(key: KeyObject): DkimAlgorithm {
  if (key.type !== 'private') throw new DepescheError('E_CONFIG', 'A DKIM key must be a private key.');
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519-sha256';
  if (key.asymmetricKeyType === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < 1024) {
      throw new DepescheError('E_CONFIG', `The DKIM RSA key has ${bits} bits; receivers ignore signatures from keys under 1024 bits (RFC 8301).`, {
        hint: 'Make a 2048-bit key: `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out dkim.pem`.',
      });
    }
    return 'rsa-sha256';
  }
  throw new DepescheError('E_CONFIG', `DKIM keys must be RSA or Ed25519, not ${key.asymmetricKeyType ?? 'unknown'}.`, {
    hint: 'Make one with `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048` or `openssl genpkey -algorithm ed25519`.',
  });
}

/** A tag value as DKIM allows it: no whitespace, semicolon or equals sign to end or forge a tag. */
function tagValue(value: string, what: string): string {
  const clean = value.trim();
  if (!/^[\x21-\x3a\x3c\x3e-\x7e]+$/.test(clean)) {
    throw new DepescheError('E_CONFIG', `DKIM ${what} "${clean}" is not a plain DNS label.`, { hint: 'Use letters, digits, dots and dashes only.' });
  }
  return clean.toLowerCase();
}

/**
 * Relaxed header canonicalisation (RFC 6376 3.4.2) of the fields to sign, bottom-most
 * instance of each name first as section 5.4.2 asks; `names` is the h= list, in the
 * configured order, of the fields present.
 */
function relaxedHeaders(block: Buffer, wanted: string[], wantedSet: Set<string>): { names: string[]; data: string } {
  const text = block.toString('latin1');
  const instances = new Map<string, string[]>();
  let start = 0;
  while (start < text.length) {
    // A field runs until a CRLF that is not followed by folding whitespace.
    let end = text.indexOf('\r\n', start);
    while (end !== -1 && (text.charCodeAt(end + 2) === 0x20 || text.charCodeAt(end + 2) === TAB)) end = text.indexOf('\r\n', end + 2);
    if (end === -1) end = text.length;
    const colon = text.indexOf(':', start);
    if (colon !== -1 && colon < end) {
      const name = text.slice(start, colon).replace(/[ \t]+$/, '').toLowerCase();
      if (wantedSet.has(name)) {
        const list = instances.get(name) ?? [];
        list.push(relaxedValue(text.slice(colon + 1, end)));
        instances.set(name, list);
      }
    }
    start = end + 2;
  }
  const names: string[] = [];
  let data = '';
  for (const name of wanted) {
    const list = instances.get(name);
    if (!list) continue;
    for (let i = list.length - 1; i >= 0; i--) {
      names.push(name);
      data += `${name}:${list[i]}\r\n`;
    }
  }
  return { names, data };
}

/** Unfold, turn every run of SP/HTAB into one SP, drop it at both ends. */
function relaxedValue(value: string): string {
  return value.replace(/\r\n/g, '').replace(/[ \t]+/g, ' ').replace(/^ | $/g, '');
}

/**
 * The header block (up to and including the CRLF that ends the last field) and the body
 * (after the empty line), the body as parts when the message came in parts.
 */
function splitMessage(message: Buffer | readonly Buffer[]): { head: Buffer; body: Buffer[] } {
  const parts = Buffer.isBuffer(message) ? [message] : message;
  // The header ends in one of the first few (small) parts; only those are joined to find it.
  for (let k = 1; k <= parts.length; k++) {
    const first = k === 1 ? parts[0]! : Buffer.concat(parts.slice(0, k));
    const split = first.indexOf(HEADER_END);
    if (split !== -1) return { head: first.subarray(0, split + 2), body: [first.subarray(split + 4), ...parts.slice(k)] };
  }
  // No empty line: all header, empty body.
  return { head: Buffer.concat(parts), body: [] };
}

const relaxedCache = new WeakMap<Buffer, Buffer>();
// Parts this large are the ones an edition shares; smaller ones are a recipient's own.
const CACHE_FROM = 1024;

/**
 * Relaxed body canonicalisation (RFC 6376 3.4.4) of a body with CRLF line ends, as the
 * list of buffers to hash. The rules work line by line, so a body in parts that are each
 * whole lines is the concatenation of its parts' relaxed forms, and a shared part's form
 * is cached. Empty lines at the end are dropped; a non-empty body ends in one CRLF.
 */
export function relaxedBodyParts(body: Buffer | readonly Buffer[]): Buffer[] {
  const parts = Buffer.isBuffer(body) ? [body] : body;
  const wholeLines = parts.every((p) => p.length === 0 || endsInCrlf(p));
  const relaxed = wholeLines ? parts.map(relaxedPart) : [relaxedLines(Buffer.concat(parts))];
  // Drop the empty lines at the end, across parts.
  let last = relaxed.length - 1;
  while (last >= 0) {
    const part = relaxed[last]!;
    let end = part.length;
    while (end >= 2 && part[end - 2] === 0x0d && part[end - 1] === 0x0a) end -= 2;
    if (end > 0) {
      relaxed[last] = end + 2 <= part.length ? part.subarray(0, end + 2) : Buffer.concat([part, CRLF]);
      break;
    }
    last--;
  }
  return relaxed.slice(0, last + 1);
}

/** The relaxed form of one body as a single buffer (for tests and the bench). */
export function relaxedBody(body: Buffer): Buffer {
  const parts = relaxedBodyParts(body);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts);
}

function relaxedPart(part: Buffer): Buffer {
  if (part.length < CACHE_FROM) return relaxedLines(part);
  let relaxed = relaxedCache.get(part);
  if (!relaxed) {
    relaxed = relaxedLines(part);
    relaxedCache.set(part, relaxed);
  }
  return relaxed;
}

/**
 * Within lines: runs of SP/HTAB become one SP, and SP/HTAB before a line end go. Checked
 * natively first: most text has neither tabs nor spaces before a line end, and then only
 * runs of spaces (HTML indentation) need rewriting, which one simple regex does; a body
 * with none of the three is returned as it is, without a copy.
 */
function relaxedLines(lines: Buffer): Buffer {
  const tab = lines.indexOf(TAB) !== -1;
  const trailing = lines.indexOf(SPACE_CRLF) !== -1 || lines[lines.length - 1] === 0x20;
  if (!tab && !trailing) {
    if (lines.indexOf(TWO_SPACES) === -1) return lines;
    return Buffer.from(lines.toString('latin1').replace(/ {2,}/g, ' '), 'latin1');
  }
  const text = lines
    .toString('latin1')
    .replace(/[ \t]+\r\n/g, '\r\n')
    .replace(/[ \t]+$/, '')
    .replace(/[ \t]{2,}|\t/g, ' ');
  return Buffer.from(text, 'latin1');
}

function endsInCrlf(buffer: Buffer): boolean {
  return buffer.length >= 2 && buffer[buffer.length - 2] === 0x0d && buffer[buffer.length - 1] === 0x0a;
}

/** The h= list folded so no line of the field grows past about 76 characters. */
function foldList(names: string[]): string {
  let out = '';
  let line = 4; // " h="
  for (let i = 0; i < names.length; i++) {
    const part = (i === 0 ? '' : ':') + names[i];
    if (line + part.length > 74 && i > 0) {
      out += '\r\n  ';
      line = 2;
    }
    out += part;
    line += part.length;
  }
  return out;
}

/** b= in lines of 72 characters; folding whitespace inside b= is ignored by verifiers. */
function foldBase64(value: string): string {
  let out = value.slice(0, 70);
  for (let i = 70; i < value.length; i += 72) out += `\r\n  ${value.slice(i, i + 72)}`;
  return out;
}

/** One key setting pair: PEM text, or the path of a PEM file. */
function readKey(pem: string | undefined, file: string | undefined, names: [string, string]): KeyObject | undefined {
  let text = pem?.replace(/\\n/g, '\n');
  if (!text && file) {
    try {
      text = readFileSync(file, 'utf8');
    } catch (cause) {
      throw new DepescheError('E_CONFIG', `Cannot read ${names[1]} ${file}.`, {
        hint: 'Point it at the PEM file of the DKIM private key, or unset it to send without this signature.',
        cause,
      });
    }
  }
  if (!text) return undefined;
  try {
    return createPrivateKey(text);
  } catch (cause) {
    throw new DepescheError('E_CONFIG', `${pem ? names[0] : `${names[1]} ${file}`} is not a PEM private key.`, {
      hint: 'Give the key as PEM (-----BEGIN PRIVATE KEY----- …), e.g. from `openssl genpkey`.',
      cause,
    });
  }
}

export type DkimConfig = Partial<
  Pick<
    Config,
    | 'DKIM_DOMAIN'
    | 'DKIM_SELECTOR'
    | 'DKIM_PRIVATE_KEY'
    | 'DKIM_PRIVATE_KEY_FILE'
    | 'DKIM_ED25519_SELECTOR'
    | 'DKIM_ED25519_PRIVATE_KEY'
    | 'DKIM_ED25519_PRIVATE_KEY_FILE'
  >
>;

/** The signer the DKIM_* settings describe (keys parsed once, here), or undefined when DKIM is off. */
export function dkimSignerFromConfig(config: DkimConfig): DkimSigner | undefined {
  if (!config.DKIM_DOMAIN) return undefined;
  const keys: DkimKey[] = [];
  const rsa = readKey(config.DKIM_PRIVATE_KEY, config.DKIM_PRIVATE_KEY_FILE, ['DKIM_PRIVATE_KEY', 'DKIM_PRIVATE_KEY_FILE']);
  if (rsa && config.DKIM_SELECTOR) keys.push({ selector: config.DKIM_SELECTOR, privateKey: rsa });
  const ed = readKey(config.DKIM_ED25519_PRIVATE_KEY, config.DKIM_ED25519_PRIVATE_KEY_FILE, ['DKIM_ED25519_PRIVATE_KEY', 'DKIM_ED25519_PRIVATE_KEY_FILE']);
  if (ed && config.DKIM_ED25519_SELECTOR) {
    if (ed.asymmetricKeyType !== 'ed25519') {
      throw new DepescheError('E_CONFIG', `DKIM_ED25519_PRIVATE_KEY holds a ${ed.asymmetricKeyType ?? 'non-Ed25519'} key.`, {
        hint: 'Make an Ed25519 key with `openssl genpkey -algorithm ed25519`, or put an RSA key in DKIM_PRIVATE_KEY.',
      });
    }
    keys.push({ selector: config.DKIM_ED25519_SELECTOR, privateKey: ed });
  }
  return keys.length > 0 ? createDkimSigner({ domain: config.DKIM_DOMAIN, keys }) : undefined;
}
