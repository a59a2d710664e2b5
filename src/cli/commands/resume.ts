import type { Command } from 'commander';
import { action } from '../program.ts';
import { withCampaigns } from './send.ts';
import { formatStatusLine } from './status.ts';

export function register(program: Command): void {
  program
    .command('resume')
    .description('Resume a paused campaign (also one that paused itself after connection failures).')
    .argument('<id>', 'campaign id')
    .action(
      action(async (id: string) =>
        withCampaigns(async (service) => {
          process.stdout.write(`${formatStatusLine(await service.resume(id))}\n`);
        }),
      ),
    );
}
