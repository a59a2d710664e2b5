import { withCampaigns } from './send.ts';
import { formatStatusLine } from './status.ts';

/** `depesche update` (arguments in ../registry.ts). */
export function update(id: string): Promise<void> {
  return withCampaigns(async (service) => {
    const result = await service.update(id);
    for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
    for (const { lang, before, after } of result.subjects) {
      process.stdout.write(before === after ? `${lang}: subject unchanged: ${after}\n` : `${lang}: subject ${JSON.stringify(before)} → ${JSON.stringify(after)}\n`);
    }
    process.stdout.write(`${formatStatusLine(result.status)}\n`);
    const next = result.status.state === 'paused' ? `resume it with \`depesche resume ${id}\`` : 'it starts at its time';
    process.stderr.write(`Editions of ${id} replaced (version ${result.version}); ${result.status.sent} reader(s) already have the earlier text. ${next[0]!.toUpperCase()}${next.slice(1)}.\n`);
  });
}
