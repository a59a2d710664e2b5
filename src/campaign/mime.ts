import { randomBytes } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser';
import { encodeWord, encodeWords, foldLines } from 'nodemailer/lib/mime-funcs';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';
import { publicUrls } from '../core/public-urls.ts';
import { DepescheError } from '../errors.ts';
import type { Lang } from '../core/lang.ts';
import { compileMerge, greetingFor, type MergeField, type MergeValues } from '../render/merge.ts';
import { escapeHtml, stripControl } from '../core/escape.ts';
import { signToken } from '../subscribers/tokens.ts';
import { markCanonical } from '../transport/canonical.ts';
import type { FrozenEdition } from './campaigns.ts';
import { campaignMessageId } from './message-id.ts';
import { ReturnAddresses } from '../inbound/return-addresses.ts';
import type { VerpClaims } from '../inbound/verp.ts';
import type { RawMessage } from './types.ts';

/**
 * Builds each recipient's message from a frozen edition with string operations only.
 *
 * Both parts are quoted-printable. Every literal stretch between merge markers is encoded
 * once per edition and ends in a soft line break (`=` CRLF), which decoders drop; each
 * merge value is encoded on its own and spliced in at such a line boundary. So 50 KB of
 * HTML is never re-encoded per recipient, and the decoded part is byte for byte the
 * template with the values filled in. The boundary contains `=_`, which quoted-printable
 * output can never contain, so no content can collide with it.
 */

export interface MessageSettings {
  /** MAIL_FROM, e.g. `Briefing <briefing@example.org>`. */
  mailFrom: string;
  publicUrl: string;
  secret: string;
  campaignId: string;
  list: string;
  /** Domain part of List-Id; defaults to PUBLIC_URL's host. */
  listIdDomain?: string;
  /** Mailbox for List-Unsubscribe mailto; defaults to unsubscribe@<MAIL_FROM domain>. */
  unsubscribeMailto?: string;
  /** RETURN_PATH_DOMAIN: each message's envelope sender becomes `b-<token>@` it; unset, MAIL_FROM's address. */
  returnPathDomain?: string;
}

export interface Recipient {
  id: string;
  email: string;
  name: string;
  lang: Lang;
}

export interface PreparedEdition {
  lang: Lang;
  /** `run` makes the Message-ID unique per attempt, so a deliberate resend is a new message. */
  build(recipient: Recipient, run: string): RawMessage;
}

// Lines of a part stay at most 73 characters, so a soft break `=` fits within 76 even
// after a leading dot became `=2E`.
const QP_LINE = 73;

/**
 * Quoted-printable with one extra: a dot that starts a line is written `=2E`, so SMTP
 * dot-stuffing never has to copy the message to insert one.
 */
function qp(text: string): string {
  return qpWrap(qpEncode(Buffer.from(text, 'utf8')), QP_LINE).replace(/^\./gm, '=2E');
}

function qpSegment(text: string): Buffer {
  if (text === '') return Buffer.alloc(0);
  const encoded = qp(text);
  return Buffer.from(encoded.endsWith('\r\n') ? encoded : `${encoded}=\r\n`, 'latin1');
}

/** Text parts travel with CRLF line ends; decoders give CRLF back, as they would for any mail. */
function crlf(text: string): string {
  return text.replace(/\r\n|\r|\n/g, '\r\n');
}

type Slot = { field: MergeField; html: boolean };

interface CompiledPart {
  literals: Buffer[];
  slots: Slot[];
}

function compilePart(document: string, html: boolean): CompiledPart {
  const template = compileMerge(crlf(document));
  return { literals: template.literals.map(qpSegment), slots: template.fields.map((field) => ({ field, html })) };
}

/** No CR, LF or other control character from any input reaches a header. */
export function headerText(value: string): string {
  return stripControl(value).replace(/\s+/g, ' ').trim();
}

/** A display name and address as an RFC 5322 mailbox; non-ASCII names as RFC 2047 words. */
export function formatMailbox(name: string, address: string): string {
  const clean = headerText(name);
  if (!clean) return `<${address}>`;
  // A name that contains `=?` could pass for an RFC 2047 encoded word, and some clients
  // decode those even inside quotes: `=?utf-8?B?…?=` would show as whatever it encodes,
  // an address for instance. Encoded ourselves, it decodes to exactly the text written.
  // eslint-disable-next-line no-control-regex
  if (clean.includes('=?')) return `${encodeWord(clean, 'Q', 52)} <${address}>`;
  if (/^[\x20-\x7e]*$/.test(clean)) return `"${clean.replace(/["\\]/g, '\\$&')}" <${address}>`;
  return `${encodeWords(clean, 'Q', 52, true)} <${address}>`;
}

const ADDRESS = /^[^\s@<>()[\]\\,;:"]+@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:"]+$|^[^\s@<>()[\]\\,;:"]+@localhost$/;

export function checkAddress(address: string): string {
  if (!ADDRESS.test(address)) {
    throw new DepescheError('E_INPUT', `Cannot send to "${stripControl(address)}": not a plain e-mail address.`, {
      hint: 'Fix or remove the subscriber with `depesche subscribers`.',
    });
  }
  return address;
}

function header(name: string, value: string): string {
  return `${foldLines(`${name}: ${value}`, 76)}\r\n`;
}

let dateSecond = 0;
let dateText = '';
/** RFC 5322 date, computed once per second rather than once per message. */
function mailDate(now = Date.now()): string {
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) {
    dateSecond = second;
    dateText = new Date(second * 1000).toUTCString().replace('GMT', '+0000');
  }
  return dateText;
}

export function parseMailFrom(mailFrom: string): { name: string; address: string } {
  const [first] = addressparser(mailFrom, { flatten: true });
  const address = first && 'address' in first ? (first.address ?? '') : '';
  if (!address || !address.includes('@')) {
    throw new DepescheError('E_CONFIG', `MAIL_FROM "${mailFrom}" has no usable address.`, {
      hint: 'Set MAIL_FROM like `Briefing <briefing@example.org>`.',
    });
  }
  return { name: first?.name ?? '', address: checkAddress(address) };
}

/** `<list>.<domain>`, RFC 2919: only what a dot-atom allows. */
export function listIdOf(list: string, domain: string): string {
  const id = list.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '') || 'list';
  return `${id}.${domain}`;
}

export function prepareEdition(edition: FrozenEdition, settings: MessageSettings): PreparedEdition {
  const urls = publicUrls(settings.publicUrl);
  const from = parseMailFrom(settings.mailFrom);
  const fromDomain = from.address.split('@')[1]!;
  const listDomain = headerText(settings.listIdDomain ?? new URL(urls.base).hostname);
  const mailto = settings.unsubscribeMailto ?? `unsubscribe@${fromDomain}`;
  const returns = new ReturnAddresses({
    ...(settings.returnPathDomain ? { returnPathDomain: settings.returnPathDomain.toLowerCase() } : {}),
    unsubscribeMailbox: mailto,
    secrets: [settings.secret],
  });
  const boundary = `=_depesche_${randomBytes(12).toString('hex')}`;

  // Everything that is the same for every recipient of this edition, prepared once.
  const staticValues = {
    viewOnlineUrl: urls.edition(edition.slug, edition.lang),
    subscribeUrl: urls.subscribe(edition.lang),
    archiveUrl: urls.archive(),
  };
  const subject = encodeWords(headerText(edition.subject), 'Q', 52);
  const staticHead =
    header('From', formatMailbox(from.name, from.address)) +
    header('Subject', subject);
  const listHead =
    header('MIME-Version', '1.0') +
    header('Content-Language', edition.lang) +
    header('List-Id', `${formatListName(settings.list)} <${listIdOf(settings.list, listDomain)}>`);
  const tailHead =
    'List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n' +
    header('X-Depesche-Campaign', headerText(settings.campaignId)) +
    `Content-Type: multipart/alternative;\r\n boundary="${boundary}"\r\n\r\n`;
  const partHead = (type: string) =>
    `--${boundary}\r\nContent-Type: ${type}; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n`;
  const text = compilePart(edition.text, false);
  const html = compilePart(edition.html, true);
  // Every part is whole CRLF lines with no line starting with a dot; telling the SMTP
  // stream so spares it scanning 70 KB per message for dots to stuff.
  const ascii = (value: string) => {
    const buffer = Buffer.from(value, 'latin1');
    markCanonical(buffer);
    return buffer;
  };
  markCanonical(...text.literals, ...html.literals);
  const head1 = Buffer.from(staticHead, 'utf8');
  markCanonical(head1);
  const head2 = ascii(listHead);
  const head3 = ascii(`${tailHead}${partHead('text/plain')}`);
  const htmlHead = ascii(`\r\n${partHead('text/html')}`);
  const end = ascii(`\r\n--${boundary}--\r\n`);

  // Appends one part: the pre-encoded literals with each recipient's values spliced in,
  // each value encoded once per recipient however often it appears. Values stay strings
  // (quoted-printable, so ASCII) until the message is written into its one buffer.
  const fill = (out: Piece[], part: CompiledPart, values: MergeValues, cache: Map<string, string>): void => {
    out.push(part.literals[0]!);
    for (let i = 0; i < part.slots.length; i++) {
      const { field, html: isHtml } = part.slots[i]!;
      const key = isHtml ? `h${field}` : `t${field}`;
      let encoded = cache.get(key);
      if (encoded === undefined) {
        const raw = stripControl(values[field]);
        const value = isHtml ? escapeHtml(raw) : raw;
        encoded = value === '' ? '' : `${qp(value)}=\r\n`;
        cache.set(key, encoded);
      }
      if (encoded !== '') out.push(encoded);
      out.push(part.literals[i + 1]!);
    }
  };

  return {
    lang: edition.lang,
    build(recipient, run) {
      const address = checkAddress(recipient.email);
      const name = headerText(recipient.name);
      const claims = { sub: recipient.id, cmp: settings.campaignId };
      const unsubscribeUrl = urls.unsubscribe(signToken({ act: 'unsubscribe', ...claims }, settings.secret));
      const values: MergeValues = {
        name,
        greeting: greetingFor(edition.greeting, name),
        unsubscribeUrl,
        preferencesUrl: urls.preferences(signToken({ act: 'preferences', ...claims }, settings.secret)),
        ...staticValues,
      };
      const messageId = campaignMessageId(settings.campaignId, recipient.id, run, fromDomain);
      const verp = returnPathOf(returns, { campaignId: settings.campaignId, subscriberId: recipient.id }, mailto);
      const perRecipient =
        header('To', formatMailbox(name, address)) +
        `Date: ${mailDate()}\r\n` +
        `Message-ID: ${messageId}\r\n`;
      const out: Piece[] = [
        head1,
        Buffer.from(perRecipient, 'utf8'),
        head2,
        `List-Unsubscribe: <${unsubscribeUrl}>,\r\n <mailto:${verp.mailto}>\r\n`,
        head3,
      ];
      const cache = new Map<string, string>();
      fill(out, text, values, cache);
      out.push(htmlHead);
      fill(out, html, values, cache);
      out.push(end);
      // The large literal parts are shared by every recipient of the edition; `raw` writes
      // them and the recipient's few values into one buffer, once, when asked for. One 70 KB
      // copy (microseconds) costs far less than streaming dozens of parts through the
      // SMTP stream stages with a socket write each.
      let joined: Buffer | undefined;
      return {
        envelope: { from: verp.bounce ?? from.address, to: address },
        messageId,
        get parts() {
          return out.map((piece) => (typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece));
        },
        get raw() {
          joined ??= join(out);
          return joined;
        },
      };
    },
  };
}

/**
 * The signed return addresses of one message (VERP, `inbound/return-addresses.ts`): the
 * envelope sender when RETURN_PATH_DOMAIN is set, and the List-Unsubscribe mailto. Ids too
 * long for a 64-character local part (old decimal subscriber ids with a long mailbox name)
 * keep the plain addresses, which `depesche inbound` still understands (by Message-ID, by
 * the sender of the request), rather than failing the message.
 */
function returnPathOf(returns: ReturnAddresses, claims: VerpClaims, mailto: string): { bounce?: string; mailto: string } {
  const bounce = tokenAddress(() => returns.bounceAddress(claims));
  return { ...(bounce ? { bounce } : {}), mailto: tokenAddress(() => returns.unsubscribeAddress(claims)) ?? mailto };
}

function tokenAddress(make: () => string | undefined): string | undefined {
  try {
    return make();
  } catch {
    return undefined;
  }
}

/** A message piece: a shared pre-encoded buffer, or a recipient's value as latin1 (ASCII) text. */
type Piece = Buffer | string;

function join(pieces: Piece[]): Buffer {
  let length = 0;
  for (const piece of pieces) length += typeof piece === 'string' ? piece.length : piece.length;
  const buffer = Buffer.allocUnsafe(length);
  let at = 0;
  for (const piece of pieces) at += typeof piece === 'string' ? buffer.write(piece, at, 'latin1') : piece.copy(buffer, at);
  // Every piece is whole CRLF lines with no line starting with a dot, so the whole is too.
  markCanonical(buffer);
  return buffer;
}

function formatListName(list: string): string {
  const clean = headerText(list);
  // eslint-disable-next-line no-control-regex
  return /^[\x20-\x7e]*$/.test(clean) ? `"${clean.replace(/["\\]/g, '\\$&')}"` : encodeWords(clean, 'Q', 52, true);
}
