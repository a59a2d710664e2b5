import { loadConfig, requireSecret } from '../../config/load.ts';
import { createLogger } from '../../log.ts';
import { assertAdminBind } from '../../server/admin/auth.ts';
import { buildApps, listen } from '../../app/apps.ts';
import { preflightRedis } from '../../app/preflight.ts';
import { createSmtpTransport } from '../../transport/smtp.ts';

interface ServeOptions {
  port?: number;
  host?: string;
  adminPort?: number;
  adminHost?: string;
}

/** `depesche serve` (options in ../registry.ts). */
export async function serve(options: ServeOptions): Promise<void> {
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
}
