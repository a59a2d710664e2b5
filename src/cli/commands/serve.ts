import type { Command } from 'commander';
import { loadConfig, requireSecret } from '../../config/load.ts';
import { createLogger } from '../../log.ts';
import { assertAdminBind } from '../../server/admin/auth.ts';
import { buildApps, listen } from '../../app/apps.ts';
import { preflightRedis } from '../../app/preflight.ts';
import { createSmtpTransport } from '../../transport/smtp.ts';
import { action, intOption } from '../program.ts';

interface ServeOptions {
  port?: number;
  host?: string;
  adminPort?: number;
  adminHost?: string;
}

export function register(program: Command): void {
  program
    .command('serve')
    .description('Run the public app (subscribe, unsubscribe, preferences, archive) and the admin app (preview, ops API, queue dashboard, metrics)')
    .option('--port <port>', 'public app port (PORT, default 3000)', intOption('--port'))
    .option('--host <host>', 'public app address (HOST, default 0.0.0.0)')
    .option('--admin-port <port>', 'admin app port (ADMIN_PORT, default 3001)', intOption('--admin-port'))
    .option('--admin-host <host>', 'admin app address (ADMIN_HOST, default 127.0.0.1); any other than loopback needs ADMIN_TOKEN')
    .action(
      action(async (options: ServeOptions) => {
        const config = loadConfig({
          flags: { PORT: options.port, HOST: options.host, ADMIN_PORT: options.adminPort, ADMIN_HOST: options.adminHost },
        });
        // Refuse before connecting anything: the fix is a setting, not a retry.
        assertAdminBind(config.ADMIN_HOST, config.ADMIN_TOKEN);
        requireSecret(config);
        const logger = createLogger({ level: config.LOG_LEVEL, name: 'depesche' });
        await preflightRedis(config, (message) => logger.warn(message), { secret: true });
        const transport = createSmtpTransport(config);
        const apps = await buildApps({ config, logger, transport, watch: false });
        try {
          const publicUrl = await listen(apps.public, config.HOST, config.PORT, 'public app', '--port');
          const adminUrl = await listen(apps.admin, config.ADMIN_HOST, config.ADMIN_PORT, 'admin app', '--admin-port');
          logger.info({ public: publicUrl, admin: adminUrl, publicUrl: config.PUBLIC_URL, adminToken: Boolean(config.ADMIN_TOKEN) }, 'depesche serve listening');
        } catch (error) {
          await apps.close();
          await transport.close();
          throw error;
        }
        const signal = await new Promise<NodeJS.Signals>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        logger.info({ signal }, 'shutting down');
        await apps.close();
        await transport.close();
        logger.flush();
        setTimeout(() => process.exit(0), 2_000).unref();
      }),
    );
}
