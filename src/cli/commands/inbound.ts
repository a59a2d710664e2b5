import { startInbound } from '../../app/inbound-process.ts';
import { loadConfig } from '../../config/load.ts';
import { createLogger } from '../../log.ts';

interface InboundOptions {
  smtpPort?: number;
  smtpHost?: string;
  smtp: boolean;
  imap?: boolean;
}

/** `depesche inbound` (options in ../registry.ts). */
export async function inbound(options: InboundOptions): Promise<void> {
  const config = loadConfig({ flags: { INBOUND_SMTP_PORT: options.smtpPort, INBOUND_SMTP_HOST: options.smtpHost } });
  const logger = createLogger({ level: config.LOG_LEVEL, name: 'inbound' });
  const run = await startInbound(config, { smtp: options.smtp, imap: options.imap !== false && Boolean(config.IMAP_URL), logger });
  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  logger.info({ signal }, 'shutting down: finishing the messages in hand');
  await run.close();
  logger.flush();
}
