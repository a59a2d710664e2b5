import { isLoopbackHost } from '../../server/shared/hosts.ts';
import { startPreviewServer } from '../../server/preview/server.ts';
import type { Config } from '../../config/schema.ts';
import type { ProofSettings } from '../../server/preview/proof.ts';
import { createSmtpTransport } from '../../transport/smtp.ts';
import { compilerFor } from './build.ts';
import { loadConfig } from '../../config/load.ts';

interface PreviewCommandOptions {
  port: number;
  host: string;
  dir?: string;
}

/** Proof headers and link signing from the config, as a real send has them. */
export function proofSettingsOf(config: Config): Partial<ProofSettings> {
  return {
    ...(config.UNSUBSCRIBE_MAILTO ? { unsubscribeMailto: config.UNSUBSCRIBE_MAILTO } : {}),
    ...(config.LIST_ID_DOMAIN ? { listIdDomain: config.LIST_ID_DOMAIN } : {}),
    ...(config.DEPESCHE_SECRET ? { secret: config.DEPESCHE_SECRET } : {}),
  };
}

/** `depesche preview` (options in ../registry.ts). */
export async function preview(options: PreviewCommandOptions): Promise<void> {
  const config = loadConfig();
  const { compiler, contentDir, publicUrl } = compilerFor(options);
  if (!isLoopbackHost(options.host)) {
    process.stderr.write(`warning: the preview has no login, and ${options.host} is reachable from other machines.\n`);
  }
  const transport = createSmtpTransport({ ...config, SMTP_POOL_SIZE: 1 });
  const server = await startPreviewServer({
    port: options.port,
    host: options.host,
    contentDir,
    publicUrl,
    compiler,
    transport,
    mailFrom: config.MAIL_FROM,
    editionFallback: config.EDITION_FALLBACK,
    proofSettings: proofSettingsOf(config),
  }).catch(async (error: unknown) => {
    await transport.close();
    throw error;
  });
  process.stderr.write(`Preview of ${contentDir}\n  ${server.url}\nSaving a file under issues/, templates/ or locales/ updates open pages. Ctrl-C stops.\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  await server.close();
  await transport.close();
}
