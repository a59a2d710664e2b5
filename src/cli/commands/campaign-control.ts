import type { Command } from 'commander';
import type { CampaignService } from '../../campaign/index.ts';
import type { CampaignStatus } from '../../campaign/types.ts';
import { action } from '../program.ts';
import { withCampaigns } from './send.ts';
import { formatStatusLine } from './status.ts';

// pause, resume and cancel differ only in what they ask the service; each prints the
// campaign's status line afterwards, so ops see at once that it took effect.
const controls: {
  name: string;
  description: string;
  reason?: boolean;
  run(service: CampaignService, id: string, reason?: string): Promise<CampaignStatus>;
}[] = [
  {
    name: 'pause',
    description: 'Pause a campaign; every worker stops before its next recipient. Resume with `depesche resume`.',
    reason: true,
    run: (service, id, reason) => service.pause(id, reason),
  },
  {
    name: 'resume',
    description: 'Resume a paused campaign (also one that paused itself after connection failures).',
    run: (service, id) => service.resume(id),
  },
  {
    name: 'cancel',
    description: 'Cancel a campaign for good; nobody not yet sent to gets it. Counts stay for the record.',
    run: (service, id) => service.cancel(id),
  },
];

export function register(program: Command): void {
  for (const control of controls) {
    const command = program.command(control.name).description(control.description).argument('<id>', 'campaign id');
    if (control.reason) command.option('--reason <text>', 'why, shown by `depesche status`');
    command.action(
      action(async (id: string, options: { reason?: string }) =>
        withCampaigns(async (service) => {
          process.stdout.write(`${formatStatusLine(await control.run(service, id, options.reason))}\n`);
        }),
      ),
    );
  }
}
