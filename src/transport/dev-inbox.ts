import { EventEmitter } from 'node:events';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import { simpleParser, type ParsedMail } from 'mailparser';

/**
 * The dev inbox: a real SMTP server on loopback that keeps the last mails in memory, so
 * `depesche dev` exercises the same SMTP path as production and shows every mail that
 * left, headers included. It never relays anything anywhere.
 */

/** One received mail. `raw` is the exact message as the sender wrote it. */
export interface InboxMail {
  id: string;
  receivedAt: string;
  envelope: { from: string; to: string[] };
  subject: string;
  from: string;
  to: string;
  size: number;
  raw: string;
  /** Unfolded header lines in their original order and spelling. */
  headers: { key: string; value: string }[];
  html: string | null;
  text: string | null;
}

export type CheckStatus = 'pass' | 'warn' | 'fail';

export interface HeaderCheck {
  name: string;
  status: CheckStatus;
  detail: string;
}

export interface DevInboxOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Oldest mails drop out beyond this many. */
  limit?: number;
}

export interface DevInbox {
  readonly port: number;
  readonly host: string;
  /** Point SMTP_URL here. */
  readonly url: string;
  /** Newest first. */
  list(): InboxMail[];
  get(id: string): InboxMail | undefined;
  clear(): void;
  /** Fires `mail` with each InboxMail as it arrives. */
  readonly events: EventEmitter<{ mail: [InboxMail] }>;
  close(): Promise<void>;
}

function unfold(line: string): string {
  return line.replace(/\r?\n[ \t]+/g, ' ');
}

function headerList(parsed: ParsedMail): { key: string; value: string }[] {
  return parsed.headerLines.map(({ line }) => {
    const flat = unfold(line);
    const colon = flat.indexOf(':');
    return colon < 0 ? { key: flat, value: '' } : { key: flat.slice(0, colon).trim(), value: flat.slice(colon + 1).trim() };
  });
}

function addressText(value: ParsedMail['to'] | ParsedMail['from']): string {
  if (!value) return '';
  return (Array.isArray(value) ? value : [value]).map((a) => a.text).join(', ');
}

export async function startDevInbox(options: DevInboxOptions = {}): Promise<DevInbox> {
  const host = options.host ?? '127.0.0.1';
  const limit = options.limit ?? 500;
  const mails: InboxMail[] = [];
  const byId = new Map<string, InboxMail>();
  const events = new EventEmitter<{ mail: [InboxMail] }>();
  let counter = 0;

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
      stream.on('end', () => {
        const rawBuffer = Buffer.concat(chunks);
        simpleParser(rawBuffer).then(
          (parsed) => {
            counter += 1;
            const mail: InboxMail = {
              id: `${Date.now().toString(36)}-${counter}`,
              receivedAt: new Date().toISOString(),
              envelope: {
                from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
                to: session.envelope.rcptTo.map((r) => r.address),
              },
              subject: parsed.subject ?? '',
              from: addressText(parsed.from),
              to: addressText(parsed.to),
              size: rawBuffer.length,
              raw: rawBuffer.toString('utf8'),
              headers: headerList(parsed),
              html: parsed.html === false ? null : parsed.html,
              text: parsed.text ?? null,
            };
            mails.unshift(mail);
            byId.set(mail.id, mail);
            while (mails.length > limit) byId.delete(mails.pop()!.id);
            events.emit('mail', mail);
            callback();
          },
          (error: Error) => callback(error),
        );
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
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
    list: () => [...mails],
    get: (id) => byId.get(id),
    clear() {
      mails.length = 0;
      byId.clear();
    },
    events,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function header(mail: InboxMail, name: string): string[] {
  const lower = name.toLowerCase();
  return mail.headers.filter((h) => h.key.toLowerCase() === lower).map((h) => h.value);
}

/**
 * What Gmail and Yahoo check for bulk mail (RFC 2369, 8058, 2919) plus the basics
 * DESIGN.md demands of every message. `warn` is for what works in dev but not in
 * production, such as an http:// unsubscribe link.
 */
export function checkHeaders(mail: InboxMail): HeaderCheck[] {
  const checks: HeaderCheck[] = [];
  const one = (name: string) => {
    const values = header(mail, name);
    return values.length === 1 ? values[0]! : values.length === 0 ? undefined : null;
  };

  const lu = one('List-Unsubscribe');
  if (lu === undefined) checks.push({ name: 'List-Unsubscribe', status: 'fail', detail: 'missing' });
  else if (lu === null) checks.push({ name: 'List-Unsubscribe', status: 'fail', detail: 'appears more than once' });
  else {
    const uris = [...lu.matchAll(/<([^>]+)>/g)].map((m) => m[1]!);
    const https = uris.find((u) => u.startsWith('https://'));
    const http = uris.find((u) => u.startsWith('http://'));
    const mailto = uris.find((u) => u.toLowerCase().startsWith('mailto:'));
    if (https) checks.push({ name: 'List-Unsubscribe URL', status: 'pass', detail: https });
    else if (http) checks.push({ name: 'List-Unsubscribe URL', status: 'warn', detail: `${http} (http is fine in dev; Gmail wants https in production)` });
    else checks.push({ name: 'List-Unsubscribe URL', status: 'fail', detail: `no <https://…> URI in "${lu}"` });
    checks.push(
      mailto
        ? { name: 'List-Unsubscribe mailto', status: 'pass', detail: mailto }
        : { name: 'List-Unsubscribe mailto', status: 'fail', detail: `no <mailto:…> URI in "${lu}"` },
    );
  }

  const lup = one('List-Unsubscribe-Post');
  checks.push(
    lup === 'List-Unsubscribe=One-Click'
      ? { name: 'List-Unsubscribe-Post', status: 'pass', detail: lup }
      : { name: 'List-Unsubscribe-Post', status: 'fail', detail: lup == null ? 'missing or repeated' : `must be exactly "List-Unsubscribe=One-Click", is "${lup}"` },
  );

  const listId = one('List-Id');
  checks.push(
    listId && /<[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~.]+\.[A-Za-z0-9.-]+>\s*$/.test(listId)
      ? { name: 'List-Id', status: 'pass', detail: listId }
      : { name: 'List-Id', status: 'fail', detail: listId ? `"${listId}" is not of the form "name <id.domain>" (RFC 2919)` : 'missing or repeated' },
  );

  const messageId = one('Message-ID');
  checks.push(
    messageId && /^<[^<>\s@]+@[^<>\s@]+>$/.test(messageId)
      ? { name: 'Message-ID', status: 'pass', detail: messageId }
      : { name: 'Message-ID', status: 'fail', detail: messageId ?? 'missing or repeated' },
  );
  const date = one('Date');
  checks.push(date && !Number.isNaN(Date.parse(date)) ? { name: 'Date', status: 'pass', detail: date } : { name: 'Date', status: 'fail', detail: date ?? 'missing or repeated' });
  const lang = one('Content-Language');
  checks.push(lang ? { name: 'Content-Language', status: 'pass', detail: lang } : { name: 'Content-Language', status: 'fail', detail: 'missing' });
  const type = one('Content-Type') ?? '';
  checks.push(
    /multipart\/alternative/i.test(type) && mail.html !== null && mail.text !== null
      ? { name: 'multipart/alternative', status: 'pass', detail: 'HTML and text parts' }
      : { name: 'multipart/alternative', status: 'fail', detail: `Content-Type is "${type}"` },
  );
  return checks;
}
