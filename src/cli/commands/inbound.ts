import type { Command } from 'commander';
import { startInbound } from '../../app/inbound-process.ts';
import { loadConfig } from '../../config/load.ts';
import { createLogger } from '../../log.ts';
import { action, intOption } from '../program.ts';

interface InboundOptions {
  smtpPort?: number;
  smtpHost?: string;
  smtp: boolean;
  imap?: boolean;
}

export function register(program: Command): void {
  program
    .command('inbound')
    .description(
      'Receive what comes back after a send: bounces (DSNs), spam complaints (ARF) and mailto unsubscribes, over SMTP for RETURN_PATH_DOMAIN and the unsubscribe mailto, and from an IMAP mailbox when IMAP_URL is set. Runs until SIGTERM.',
    )
    .option('--smtp-port <port>', 'SMTP listener port (INBOUND_SMTP_PORT, default 2525; 25 to be the MX yourself)', intOption('--smtp-port'))
    .option('--smtp-host <host>', 'SMTP listener address (INBOUND_SMTP_HOST, default 127.0.0.1)')
    .option('--no-smtp', 'no SMTP listener (only poll IMAP_URL)')
    .option('--no-imap', 'do not poll IMAP_URL even when it is set')
    .action(
      action(async (options: InboundOptions) => {
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
      }),
    );
}
