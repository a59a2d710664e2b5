import type { Command } from 'commander';
import { action } from '../program.ts';
import { withCampaigns } from './send.ts';
import { formatStatusLine } from './status.ts';

export function register(program: Command): void {
  program
    .command('pause')
    .description('Pause a campaign; every worker stops before its next recipient. Resume with `depesche resume`.')
    .argument('<id>', 'campaign id')
    .option('--reason <text>', 'why, shown by `depesche status`')
    .action(
      action(async (id: string, options: { reason?: string }) =>
        withCampaigns(async (service) => {
          process.stdout.write(`${formatStatusLine(await service.pause(id, options.reason))}\n`);
        }),
      ),
    );
}
