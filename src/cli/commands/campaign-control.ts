import type { CampaignService } from '../../campaign/index.ts';
import type { CampaignStatus } from '../../campaign/types.ts';
import { withCampaigns } from './send.ts';
import { formatStatusLine } from './status.ts';

// pause, resume and cancel differ only in what they ask the service; each prints the
// campaign's status line afterwards, so ops see at once that it took effect. Their names,
// descriptions and options are in ../registry.ts.
function control(run: (service: CampaignService, id: string, reason?: string) => Promise<CampaignStatus>) {
  return (id: string, options: { reason?: string } = {}): Promise<void> =>
    withCampaigns(async (service) => {
      process.stdout.write(`${formatStatusLine(await run(service, id, options.reason))}\n`);
    });
}

export const pause = control((service, id, reason) => service.pause(id, reason));
export const resume = control((service, id) => service.resume(id));
export const cancel = control((service, id) => service.cancel(id));
