import { loadConfig } from '../../config/load.ts';
import { parseProofRequest, sendProof } from '../../server/preview/proof.ts';
import { createSmtpTransport } from '../../transport/smtp.ts';
import { compilerFor } from './build.ts';
import { proofSettingsOf } from './preview.ts';

interface TestSendOptions {
  to: string;
  lang: string;
  dir?: string;
}

/** `depesche test-send` (options in ../registry.ts). */
export async function testSend(slug: string, options: TestSendOptions): Promise<void> {
  const config = loadConfig();
  const request = parseProofRequest(slug, { to: options.to, lang: options.lang });
  const { compiler, publicUrl } = compilerFor(options);
  const editions = await compiler.compile(slug);
  const transport = createSmtpTransport({ ...config, SMTP_POOL_SIZE: 1 });
  try {
    const sent = await sendProof(editions, request, transport, { from: config.MAIL_FROM, publicUrl, ...proofSettingsOf(config) });
    for (const proof of sent) process.stdout.write(`sent ${proof.lang} proof to ${request.to}: ${proof.subject}\n`);
  } finally {
    await transport.close();
  }
}
