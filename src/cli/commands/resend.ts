import { DepescheError } from '../../errors.ts';
import { withCampaigns } from './send.ts';

/** `depesche resend` (options in ../registry.ts). */
export async function resend(id: string, options: { unclear?: boolean }): Promise<void> {
  if (!options.unclear) {
    throw new DepescheError('E_INPUT', 'resend needs --unclear.', { hint: 'List them first with `depesche status <id> --unclear`.' });
  }
  return withCampaigns(async (service) => {
    const result = await service.resend(id, { unclear: true });
    process.stdout.write(result.recipients === 0 ? `Campaign ${id} has no unclear recipients.\n` : `Queued ${result.recipients} unclear recipient(s) of ${id} in ${result.batches} batch(es).\n`);
  });
}
