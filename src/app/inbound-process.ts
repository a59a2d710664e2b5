// The `depesche inbound` process: wiring only. Config, the return addresses, the SMTP
// listener and/or the IMAP poller, and the sink their events go to: the subscriber store
// and the campaigns' ledger in Redis.
import { readFileSync } from 'node:fs';
import type { Config } from '../config/index.ts';
import { requireSecret } from '../config/load.ts';
import { previousSecrets } from '../config/preflight.ts';
import { DepescheError } from '../errors.ts';
import { ImapPoller } from '../inbound/imap-poller.ts';
import { DirectoryQuarantine } from '../inbound/quarantine.ts';
import { ReturnAddresses, returnAddressSettings } from '../inbound/return-addresses.ts';
import { startInboundSmtp, type InboundSmtp } from '../inbound/smtp-listener.ts';
import type { MessageIdResolver, ReturnSink } from '../inbound/types.ts';
import type { Logger } from '../log.ts';
import { createRedis, keyspace } from '../config/redis.ts';
import { preflightRedis } from './preflight.ts';
import { returnPathOver } from '../inbound/redis-sink.ts';

export interface InboundRun {
  smtp?: InboundSmtp;
  imap?: ImapPoller;
  close(): Promise<void>;
}

export interface InboundRunOptions {
  smtp: boolean;
  imap: boolean;
  logger: Logger;
  /** Where events go; defaults to the subscriber store and the ledger in REDIS_URL. */
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
  const addresses = new ReturnAddresses(returnAddressSettings(config, [requireSecret(config), ...previousSecrets(config)]));
  const { logger } = options;
  const stores = options.sink ? undefined : await openStores(config, logger);
  const sink = options.sink ?? stores!.sink;
  const resolveMessageId = options.resolveMessageId ?? stores?.resolveMessageId;
  const run: InboundRun = {
    async close() {
      await Promise.all([run.smtp?.close(), run.imap?.stop()]);
      stores?.redis.disconnect();
    },
  };
  try {
    await listen(run, config, addresses, sink, resolveMessageId, options);
  } catch (error) {
    await run.close();
    throw error;
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
  return run;
}

/**
 * The Redis side: checked like every process that writes (no evicting Redis, the
 * installation's secret). Commands fail after a short retry rather than wait: the listener
 * then answers 451 and the sending server delivers the report again later.
 */
async function openStores(config: Config, logger: Logger) {
  const redis = createRedis(config, { maxRetriesPerRequest: 2 });
  redis.on('error', (error) => logger.warn({ err: error.message }, 'redis'));
  try {
    await preflightRedis(config, (message) => logger.warn(message), { secret: true, redis });
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  return { redis, ...returnPathOver(redis, keyspace(config.DEPESCHE_PREFIX), config) };
}

async function listen(
  run: InboundRun,
  config: Config,
  addresses: ReturnAddresses,
  sink: ReturnSink,
  resolveMessageId: MessageIdResolver | undefined,
  options: InboundRunOptions,
): Promise<void> {
  const { logger } = options;
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
        ...(resolveMessageId ? { resolveMessageId } : {}),
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
      ...(resolveMessageId ? { resolveMessageId } : {}),
    });
    run.imap.start();
  }
}
