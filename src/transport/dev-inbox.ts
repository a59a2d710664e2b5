import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import libmime from 'libmime';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { checkHeaders, mailKind, type HeaderCheck, type MailKind } from './inbox-checks.ts';

export { checkHeaders, mailKind, type CheckStatus, type HeaderCheck, type MailKind } from './inbox-checks.ts';

/**
 * The dev inbox: a real SMTP server on loopback that keeps what it receives, so
 * `depesche dev` exercises the same SMTP path as production and shows every mail that
 * left, headers included. It never relays anything anywhere.
 *
 * With a folder (`.depesche/inbox/` under `depesche dev`), each mail is kept there as
 * `<id>.eml` (the exact bytes, openable in any mail program) plus `<id>.json` (what the
 * list, the search and the checks need), so the inbox survives a restart. In memory it
 * holds only those summaries; a mail's HTML and source are read from disk when opened.
 */

/** One received mail, as the list, the search and the checks see it. */
export interface InboxMail {
  id: string;
  receivedAt: string;
  envelope: { from: string; to: string[] };
  /** Decoded (RFC 2047), as a mail program shows it. */
  subject: string;
  from: string;
  to: string;
  size: number;
  kind: MailKind;
  contentLanguage: string | null;
  /** Header lines in their original order; `value` decoded, `raw` as sent when that differs. */
  headers: { key: string; value: string; raw?: string }[];
  checks: HeaderCheck[];
  text: string | null;
}

/** A mail with its HTML part and exact source. */
export interface InboxMessage extends InboxMail {
  html: string | null;
  raw: string;
}

export interface InboxQuery {
  /** Words to find in subject, sender, recipients or text, case-insensitively; all must match. */
  q?: string | undefined;
  kind?: MailKind | undefined;
  /** Content-Language, e.g. `de`. */
  lang?: string | undefined;
  /** Only mails with a failing (`fail`) or warning (`warn`) check. */
  checks?: 'fail' | 'warn' | undefined;
}

export interface DevInboxOptions {
  /** 0 picks a free port; a port in use falls back to a free one. */
  port?: number;
  host?: string;
  /** Oldest mails drop out beyond this many. @defaultValue 500 */
  limit?: number;
  /** Keep mails here across restarts; memory only without. */
  dir?: string;
}

export interface DevInbox {
  readonly port: number;
  readonly host: string;
  /** Point SMTP_URL here. */
  readonly url: string;
  /** Newest first, filtered by `query`. */
  list(query?: InboxQuery): InboxMail[];
  /** All mails held, before filtering. */
  readonly size: number;
  get(id: string): InboxMail | undefined;
  /** With HTML and source, read from disk (or memory). */
  message(id: string): Promise<InboxMessage | undefined>;
  /** Deletes one mail; false when there was none with that id. */
  delete(id: string): Promise<boolean>;
  clear(): Promise<void>;
  /** `mail` with each mail as it arrives; `removed` with the ids deleted. */
  readonly events: EventEmitter<{ mail: [InboxMail]; removed: [string[]] }>;
  close(): Promise<void>;
}

const ID = /^[0-9a-z]+-[0-9a-f]+$/;

function unfold(line: string): string {
  return line.replace(/\r?\n[ \t]+/g, ' ');
}

function decoded(value: string): string {
  try {
    return libmime.decodeWords(value);
  } catch {
    return value;
  }
}

function headerList(parsed: ParsedMail): InboxMail['headers'] {
  return parsed.headerLines.map(({ line }) => {
    const flat = unfold(line);
    const colon = flat.indexOf(':');
    const key = colon < 0 ? flat : flat.slice(0, colon).trim();
    const raw = colon < 0 ? '' : flat.slice(colon + 1).trim();
    const value = decoded(raw);
    return value === raw ? { key, value } : { key, value, raw };
  });
}

function addressText(value: ParsedMail['to'] | ParsedMail['from']): string {
  if (!value) return '';
  return (Array.isArray(value) ? value : [value]).map((a) => a.text).join(', ');
}

function summarize(id: string, receivedAt: string, envelope: InboxMail['envelope'], raw: Buffer, parsed: ParsedMail): InboxMail {
  // Checks read the headers as sent; the table shows them decoded.
  const headers = headerList(parsed);
  const checked = { headers: headers.map((h) => ({ key: h.key, value: h.raw ?? h.value })), hasHtml: parsed.html !== false, hasText: parsed.text !== undefined };
  const kind = mailKind(checked);
  return {
    id,
    receivedAt,
    envelope,
    subject: parsed.subject ?? '',
    from: addressText(parsed.from),
    to: addressText(parsed.to),
    size: raw.length,
    kind,
    contentLanguage: headers.find((h) => h.key.toLowerCase() === 'content-language')?.value ?? null,
    headers,
    checks: checkHeaders(checked, kind),
    text: parsed.text ?? null,
  };
}

export function matches(mail: InboxMail, query: InboxQuery): boolean {
  if (query.kind && mail.kind !== query.kind) return false;
  if (query.lang && mail.contentLanguage?.toLowerCase() !== query.lang.toLowerCase()) return false;
  if (query.checks === 'fail' && !mail.checks.some((c) => c.status === 'fail')) return false;
  if (query.checks === 'warn' && !mail.checks.some((c) => c.status !== 'pass')) return false;
  const words = (query.q ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return true;
  const haystack = [mail.subject, mail.from, mail.to, mail.envelope.from, ...mail.envelope.to, mail.text ?? ''].join('\n').toLowerCase();
  return words.every((word) => haystack.includes(word));
}

/** Where the mails' source lives: a folder, or memory for a throwaway inbox. */
interface Sources {
  load(): Promise<InboxMail[]>;
  put(mail: InboxMail, raw: Buffer): Promise<void>;
  raw(id: string): Promise<Buffer | undefined>;
  remove(ids: string[]): Promise<void>;
}

function memorySources(): Sources {
  const raws = new Map<string, Buffer>();
  return {
    load: async () => [],
    put: async (mail, raw) => void raws.set(mail.id, raw),
    raw: async (id) => raws.get(id),
    remove: async (ids) => ids.forEach((id) => raws.delete(id)),
  };
}

function folderSources(dir: string): Sources {
  return {
    async load() {
      await mkdir(dir, { recursive: true });
      const mails: InboxMail[] = [];
      for (const file of await readdir(dir)) {
        if (!file.endsWith('.json') || !ID.test(file.slice(0, -5))) continue;
        try {
          mails.push(JSON.parse(await readFile(join(dir, file), 'utf8')) as InboxMail);
        } catch {
          // A file cut short by a crash mid-write: its .eml is still there to open by hand.
        }
      }
      return mails;
    },
    async put(mail, raw) {
      // The source first: a summary never points at a mail that is not on disk.
      await writeFile(join(dir, `${mail.id}.eml`), raw);
      await writeFile(join(dir, `${mail.id}.json`), JSON.stringify(mail));
    },
    async raw(id) {
      if (!ID.test(id)) return undefined;
      return readFile(join(dir, `${id}.eml`)).catch(() => undefined);
    },
    async remove(ids) {
      await Promise.all(ids.flatMap((id) => [rm(join(dir, `${id}.json`), { force: true }), rm(join(dir, `${id}.eml`), { force: true })]));
    },
  };
}

export async function startDevInbox(options: DevInboxOptions = {}): Promise<DevInbox> {
  const host = options.host ?? '127.0.0.1';
  const limit = options.limit ?? 500;
  const sources = options.dir ? folderSources(options.dir) : memorySources();
  const events = new EventEmitter<{ mail: [InboxMail]; removed: [string[]] }>();
  // Newest first.
  const mails = (await sources.load()).sort((a, b) => (a.receivedAt === b.receivedAt ? b.id.localeCompare(a.id) : b.receivedAt.localeCompare(a.receivedAt)));
  const byId = new Map(mails.map((m) => [m.id, m]));

  const remove = async (ids: string[]) => {
    if (ids.length === 0) return;
    const gone = new Set(ids);
    for (let i = mails.length - 1; i >= 0; i--) if (gone.has(mails[i]!.id)) mails.splice(i, 1);
    for (const id of ids) byId.delete(id);
    await sources.remove(ids);
    events.emit('removed', ids);
  };

  const receive = async (raw: Buffer, session: SMTPServerSession): Promise<void> => {
    const parsed = await simpleParser(raw);
    const receivedAt = new Date().toISOString();
    const id = `${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const envelope = {
      from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
      to: session.envelope.rcptTo.map((r) => r.address),
    };
    const mail = summarize(id, receivedAt, envelope, raw, parsed);
    await sources.put(mail, raw);
    mails.unshift(mail);
    byId.set(mail.id, mail);
    if (mails.length > limit) await remove(mails.slice(limit).map((m) => m.id));
    events.emit('mail', mail);
  };

  const server = new SMTPServer({
    authOptional: true,
    // Loopback only, and nodemailer would otherwise try to upgrade to a self-signed cert.
    disabledCommands: ['STARTTLS'],
    logger: false,
    banner: 'Depesche dev inbox',
    size: 25 * 1024 * 1024,
    onData(stream: SMTPServerDataStream, session: SMTPServerSession, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      // Answer 250 only once the mail is kept: what the sender was told arrived, did.
      stream.on('end', () => receive(Buffer.concat(chunks), session).then(() => callback(), callback));
    },
  });

  const listen = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  try {
    await listen(options.port ?? 0);
  } catch (error) {
    // The port of the last run is taken: any free one will do.
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || !options.port) throw error;
    await listen(0);
  }
  // smtp-server's typings omit `server`; the underlying net.Server knows the port picked.
  const address = (server as unknown as { server: import('node:net').Server }).server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 0);
  server.on('error', () => {
    // A client dropping mid-session is not worth crashing `depesche dev` for.
  });

  return {
    port,
    host,
    url: `smtp://${host}:${port}`,
    list: (query = {}) => mails.filter((m) => matches(m, query)),
    get size() {
      return mails.length;
    },
    get: (id) => byId.get(id),
    async message(id) {
      const mail = byId.get(id);
      const raw = mail && (await sources.raw(id));
      if (!mail || !raw) return undefined;
      const parsed = await simpleParser(raw);
      return { ...mail, html: parsed.html === false ? null : parsed.html, raw: raw.toString('utf8') };
    },
    async delete(id) {
      if (!byId.has(id)) return false;
      await remove([id]);
      return true;
    },
    clear: () => remove(mails.map((m) => m.id)),
    events,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
