import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import { DepescheError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { applyEvents } from './apply.ts';
import { parseReturnMail } from './parse/index.ts';
import type { ReturnAddresses } from './return-addresses.ts';
import type { MessageIdResolver, ReturnSink } from './types.ts';

/**
 * The mailbox side of `depesche inbound`, for publishers whose bounces, complaints and
 * unsubscribe mails land in an ordinary mailbox (the MAIL_FROM address, or a dedicated one).
 *
 * Every poll looks at the unseen messages of the folder, reads each one, hands its events to
 * the sink, and then moves it to IMAP_PROCESSED_MAILBOX (or only flags it seen when that is
 * empty). A message it cannot read, or an unmatched report (one that names its reader only
 * by address, `trust.ts`), goes to IMAP_QUARANTINE_MAILBOX: kept, never deleted.
 * When the sink cannot record an event, the message stays unseen and the poll stops; the
 * next poll tries again, and the sink's keys keep a retried report from counting twice.
 *
 * A message somebody already read in a mail client (\Seen) is left alone: marking it unread
 * hands it to Depesche again.
 */

export interface ImapPollerOptions {
  /** `imap://` or `imaps://user:password@host:port/Folder` (the folder defaults to INBOX). */
  url: string;
  /** Where read messages go; empty: they stay, flagged \Seen. */
  processedMailbox: string;
  /** Where unreadable messages go. */
  quarantineMailbox: string;
  pollSeconds: number;
  addresses: ReturnAddresses;
  sink: ReturnSink;
  logger: Logger;
  resolveMessageId?: MessageIdResolver;
  /** More imapflow options, e.g. `tls` for a server with a private CA. */
  client?: Partial<ImapFlowOptions>;
}

export interface PollResult {
  /** Messages read and applied. */
  processed: number;
  /** Messages moved to the quarantine folder: unreadable, or unmatched reports. */
  kept: number;
  /** Messages left for the next poll because the sink could not record them. */
  deferred: number;
}

interface Target {
  options: ImapFlowOptions;
  mailbox: string;
  display: string;
}

/** Connection options from the URL; the password never reaches a log line. */
export function imapTarget(url: string, extra: Partial<ImapFlowOptions> = {}): Target {
  const parsed = new URL(url);
  const secure = parsed.protocol === 'imaps:';
  const mailbox = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'INBOX';
  if (!parsed.username) {
    throw new DepescheError('E_CONFIG', 'IMAP_URL has no user name.', { hint: 'Write it as imaps://user:password@imap.example.org/INBOX (%40 for an @ in the user name).' });
  }
  const port = parsed.port ? Number(parsed.port) : secure ? 993 : 143;
  return {
    options: {
      host: parsed.hostname,
      port,
      secure,
      auth: { user: decodeURIComponent(parsed.username), pass: decodeURIComponent(parsed.password) },
      logger: false,
      disableAutoIdle: true,
      ...extra,
    },
    mailbox,
    display: `${parsed.protocol}//${decodeURIComponent(parsed.username)}@${parsed.hostname}:${port}/${mailbox}`,
  };
}

export class ImapPoller {
  readonly #options: ImapPollerOptions;
  readonly #target: Target;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;
  #stopped = false;

  constructor(options: ImapPollerOptions) {
    this.#options = options;
    this.#target = imapTarget(options.url, options.client);
  }

  /** Where it polls, without the password. */
  get mailbox(): string {
    return this.#target.display;
  }

  /** Polls now, then every `pollSeconds`, until `stop()`. A failed poll is logged and the next one tries again. */
  start(): void {
    const loop = async () => {
      if (this.#stopped) return;
      this.#running = this.pollOnce().catch((error: unknown) =>
        this.#options.logger.error({ err: error, mailbox: this.mailbox }, 'IMAP poll failed; trying again at the next poll'),
      );
      await this.#running;
      if (!this.#stopped) this.#timer = setTimeout(() => void loop(), this.#options.pollSeconds * 1000);
    };
    void loop();
  }

  /** Stops polling; waits for a poll in progress to finish its current message. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  async pollOnce(): Promise<PollResult> {
    const { logger } = this.#options;
    const client = new ImapFlow(this.#target.options);
    // imapflow reports socket trouble as events too; the failing command rejects as well.
    client.on('error', (error: Error) => logger.warn({ err: error, mailbox: this.mailbox }, 'IMAP connection error'));
    try {
      await client.connect();
    } catch (cause) {
      const failed = (cause as { authenticationFailed?: boolean }).authenticationFailed;
      throw new DepescheError('E_CONFIG', failed ? `IMAP login to ${this.mailbox} was refused.` : `Cannot reach the IMAP server for ${this.mailbox}.`, {
        hint: failed ? 'Check the user name and password in IMAP_URL.' : 'Check host and port in IMAP_URL, and whether imaps:// (993) or imap:// (143) is right.',
        cause,
      });
    }
    const result: PollResult = { processed: 0, kept: 0, deferred: 0 };
    try {
      const lock = await client.getMailboxLock(this.#target.mailbox);
      try {
        const uids = (await client.search({ seen: false }, { uid: true })) || [];
        for (const uid of uids) {
          if (this.#stopped) break;
          const outcome = await this.#handle(client, uid);
          result[outcome]++;
          if (outcome === 'deferred') {
            result.deferred += uids.length - uids.indexOf(uid) - 1;
            break;
          }
        }
      } finally {
        lock.release();
      }
    } finally {
      await client.logout().catch(() => client.close());
    }
    if (result.processed + result.kept + result.deferred > 0) logger.info({ mailbox: this.mailbox, ...result }, 'IMAP poll done');
    return result;
  }

  async #handle(client: ImapFlow, uid: number): Promise<keyof PollResult> {
    const { logger, sink, addresses, processedMailbox, quarantineMailbox } = this.#options;
    const message = await client.fetchOne(String(uid), { source: true, internalDate: true }, { uid: true });
    if (!message || !message.source) return 'processed';
    const at = message.internalDate ? new Date(message.internalDate) : new Date();
    let unparseable: string | undefined;
    let unmatched: string | undefined;
    try {
      const events = await parseReturnMail(message.source, {
        source: 'imap',
        addresses,
        receivedAt: at,
        ...(this.#options.resolveMessageId ? { resolveMessageId: this.#options.resolveMessageId } : {}),
      });
      ({ unparseable, unmatched } = await applyEvents(events, sink, logger.child({ mailbox: this.mailbox, uid })));
    } catch (error) {
      logger.error({ err: error, mailbox: this.mailbox, uid }, 'IMAP: could not record a message; it stays unseen for the next poll');
      return 'deferred';
    }
    if (unparseable) {
      await this.#moveTo(client, uid, quarantineMailbox);
      logger.warn({ mailbox: this.mailbox, uid, reason: unparseable, kept: quarantineMailbox }, 'IMAP: kept a message it could not read');
      return 'kept';
    }
    if (unmatched) {
      await this.#moveTo(client, uid, quarantineMailbox);
      logger.warn({ mailbox: this.mailbox, uid, reason: unmatched, kept: quarantineMailbox }, 'IMAP: kept an unmatched report; no reader changed');
      return 'kept';
    }
    if (processedMailbox) await this.#moveTo(client, uid, processedMailbox);
    else await client.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
    return 'processed';
  }

  /**
   * Flags the message seen and moves it, creating the folder the first time. Settings write
   * levels with `/`; imapflow joins them with the server's own separator (`.` on a Maildir
   * Dovecot, `/` at Gmail).
   */
  async #moveTo(client: ImapFlow, uid: number, mailbox: string): Promise<void> {
    const path = mailbox.split('/').filter(Boolean);
    await client.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
    let moved = await client.messageMove(String(uid), path, { uid: true });
    if (!moved) {
      await client.mailboxCreate(path).catch(() => undefined);
      moved = await client.messageMove(String(uid), path, { uid: true });
    }
    if (!moved) this.#options.logger.warn({ mailbox: this.mailbox, uid, to: mailbox }, 'IMAP: could not move a message; it stays, flagged seen');
  }
}
