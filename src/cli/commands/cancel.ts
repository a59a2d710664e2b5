import type { Command } from 'commander';
import { action } from '../program.ts';
import { withCampaigns } from './send.ts';
import { formatStatusLine } from './status.ts';

export function register(program: Command): void {
  program
    .command('cancel')
    .description('Cancel a campaign for good; nobody not yet sent to gets it. Counts stay for the record.')
    .argument('<id>', 'campaign id')
    .action(
      action(async (id: string) =>
        withCampaigns(async (service) => {
          process.stdout.write(`${formatStatusLine(await service.cancel(id))}\n`);
        }),
      ),
    );
}
