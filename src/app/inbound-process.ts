// The `depesche inbound` process: wiring only. Config, the return addresses, the SMTP
// listener and/or the IMAP poller, and the sink their events go to.
import { readFileSync } from 'node:fs';
import type { Config } from '../config/index.ts';
import { requireSecret } from '../config/load.ts';
import { DepescheError } from '../errors.ts';
import { eventFields } from '../inbound/apply.ts';
import { ImapPoller } from '../inbound/imap-poller.ts';
import { DirectoryQuarantine } from '../inbound/quarantine.ts';
import { ReturnAddresses, returnAddressSettings } from '../inbound/return-addresses.ts';
import { startInboundSmtp, type InboundSmtp } from '../inbound/smtp-listener.ts';
import type { ActionableEvent, MessageIdResolver, ReturnSink, SinkOutcome } from '../inbound/types.ts';
import type { Logger } from '../log.ts';

/**
 * Stands in for the real sink until the ledger and the subscriber states take return
 * events (phase B of the return path): it logs each event and changes nothing, and says so.
 */
export class PrintingReturnSink implements ReturnSink {
  readonly #logger: Logger;
  constructor(logger: Logger) {
    this.#logger = logger;
  }
  #print(event: ActionableEvent): Promise<SinkOutcome> {
    this.#logger.warn(eventFields(event), `return path: ${event.kind} received, NOT applied (no ledger or subscriber sink is wired yet)`);
    return Promise.resolve({ status: 'unchanged', detail: 'printed only' });
  }
  bounce = this.#print.bind(this);
  rejection = this.#print.bind(this);
  complaint = this.#print.bind(this);
  unsubscribe = this.#print.bind(this);
}

export interface InboundRun {
  smtp?: InboundSmtp;
  imap?: ImapPoller;
  close(): Promise<void>;
}

export interface InboundRunOptions {
  smtp: boolean;
  imap: boolean;
  logger: Logger;
  /** Where events go; until the ledger takes them, a sink that only prints. */
  sink?: ReturnSink;
  resolveMessageId?: MessageIdResolver;
}

function readTls(config: Config): { key: Buffer; cert: Buffer } | undefined {
  if (!config.INBOUND_TLS_CERT_FILE || !config.INBOUND_TLS_KEY_FILE) return undefined;
  try {
    return { cert: readFileSync(config.INBOUND_TLS_CERT_FILE), key: readFileSync(config.INBOUND_TLS_KEY_FILE) };
  } catch (cause) {
    throw new DepescheError('E_CONFIG', 'Cannot read INBOUND_TLS_CERT_FILE or INBOUND_TLS_KEY_FILE.', { hint: 'Point both at readable PEM files, or unset both to offer no STARTTLS.', cause });
  }
}

export async function startInbound(config: Config, options: InboundRunOptions): Promise<InboundRun> {
  if (!options.smtp && !options.imap) {
    throw new DepescheError('E_INPUT', 'Nothing to run: the SMTP listener is off and IMAP_URL is not set.', {
      hint: 'Drop --no-smtp, or set IMAP_URL to poll a mailbox.',
    });
  }
  if (options.imap && !config.IMAP_URL) {
    throw new DepescheError('E_CONFIG', 'IMAP_URL is not set.', { hint: 'Set IMAP_URL=imaps://user:password@imap.example.org/INBOX, or leave out --imap.' });
  }
  const addresses = new ReturnAddresses(returnAddressSettings(config, [requireSecret(config)]));
  const { logger } = options;
  const sink = options.sink ?? new PrintingReturnSink(logger);
  const run: InboundRun = {
    async close() {
      await Promise.all([run.smtp?.close(), run.imap?.stop()]);
    },
  };
  if (options.smtp) {
    const tls = readTls(config);
    try {
      run.smtp = await startInboundSmtp({
        host: config.INBOUND_SMTP_HOST,
        port: config.INBOUND_SMTP_PORT,
        addresses,
        sink,
        quarantine: new DirectoryQuarantine(config.INBOUND_QUARANTINE_DIR),
        logger: logger.child({ part: 'smtp' }),
        maxBytes: config.INBOUND_MAX_BYTES,
        ...(tls ? { tls } : {}),
        ...(options.resolveMessageId ? { resolveMessageId: options.resolveMessageId } : {}),
      });
    } catch (cause) {
      throw new DepescheError('E_CONFIG', `Cannot listen on ${config.INBOUND_SMTP_HOST}:${config.INBOUND_SMTP_PORT} for inbound SMTP.`, {
        hint: 'Pick a free port with --smtp-port (INBOUND_SMTP_PORT); port 25 needs root or CAP_NET_BIND_SERVICE.',
        cause,
      });
    }
  }
  if (options.imap && config.IMAP_URL) {
    run.imap = new ImapPoller({
      url: config.IMAP_URL,
      processedMailbox: config.IMAP_PROCESSED_MAILBOX,
      quarantineMailbox: config.IMAP_QUARANTINE_MAILBOX,
      pollSeconds: config.IMAP_POLL_SECONDS,
      addresses,
      sink,
      logger: logger.child({ part: 'imap' }),
      ...(options.resolveMessageId ? { resolveMessageId: options.resolveMessageId } : {}),
    });
    run.imap.start();
  }
  logger.info(
    {
      smtp: run.smtp ? `${config.INBOUND_SMTP_HOST}:${run.smtp.port}` : 'off',
      imap: run.imap ? run.imap.mailbox : 'off',
      domains: addresses.domains,
      quarantine: config.INBOUND_QUARANTINE_DIR,
    },
    'depesche inbound ready',
  );
  if (!options.sink) logger.warn('return events are printed, not applied yet: the ledger and subscriber wiring is missing');
  return run;
}
