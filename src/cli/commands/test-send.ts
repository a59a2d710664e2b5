import type { Command } from 'commander';
import { loadConfig } from '../../config/load.ts';
import { parseProofRequest, sendProof } from '../../server/preview/proof.ts';
import { createSmtpTransport } from '../../transport/smtp.ts';
import { action } from '../program.ts';
import { compilerFor } from './build.ts';
import { proofSettingsOf } from './preview.ts';

interface TestSendOptions {
  to: string;
  lang: string;
  dir?: string;
}

export function register(program: Command): void {
  program
    .command('test-send')
    .description('Send a proof of an issue over SMTP_URL: the headers of a real send, with "[Test]" before the subject')
    .argument('<slug>', 'the issue to send (its folder name under issues/)')
    .requiredOption('--to <address>', 'who gets the proof, e.g. editor@example.org')
    .option('--lang <lang>', 'which edition: de, en or all', 'all')
    .option('-d, --dir <dir>', 'content directory holding issues/, templates/ and locales/ (default: CONTENT_DIR or .)')
    .action(
      action(async (slug: string, options: TestSendOptions) => {
        const config = loadConfig();
        const request = parseProofRequest(slug, { to: options.to, lang: options.lang });
        const { compiler, publicUrl } = compilerFor(options);
        const editions = await compiler.compile(slug);
        const transport = createSmtpTransport({ SMTP_URL: config.SMTP_URL, SMTP_POOL_SIZE: 1 });
        try {
          const sent = await sendProof(editions, request, transport, { from: config.MAIL_FROM, publicUrl, ...proofSettingsOf(config) });
          for (const proof of sent) process.stdout.write(`sent ${proof.lang} proof to ${request.to}: ${proof.subject}\n`);
        } finally {
          await transport.close();
        }
      }),
    );
}
