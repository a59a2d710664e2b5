import type { Command } from 'commander';
import { DepescheError } from '../../errors.ts';
import { action } from '../program.ts';
import { withCampaigns } from './send.ts';

export function register(program: Command): void {
  program
    .command('resend')
    .description('Send on purpose to the recipients whose delivery is unclear after a crash (some may get it twice).')
    .argument('<id>', 'campaign id')
    .option('--unclear', 'resend to the unclear recipients (required: the only kind of resend there is)')
    .action(
      action(async (id: string, options: { unclear?: boolean }) => {
        if (!options.unclear) {
          throw new DepescheError('E_INPUT', 'resend needs --unclear.', { hint: 'List them first with `depesche status <id> --unclear`.' });
        }
        return withCampaigns(async (service) => {
          const result = await service.resend(id, { unclear: true });
          process.stdout.write(result.recipients === 0 ? `Campaign ${id} has no unclear recipients.\n` : `Queued ${result.recipients} unclear recipient(s) of ${id} in ${result.batches} batch(es).\n`);
        });
      }),
    );
}
