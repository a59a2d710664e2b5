import cliProgress from 'cli-progress';
import type { CampaignService, CampaignStatus } from '../../campaign/index.ts';
import { describeSendTime } from '../../campaign/send-time.ts';
import { withCampaigns } from './send.ts';

function duration(seconds: number | null): string {
  if (seconds === null) return '–';
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

/** One line per campaign: state, counts, rate, ETA, when it starts, why it stopped, and what ops should know. */
export function formatStatusLine(s: CampaignStatus): string {
  const previously = s.previously > 0 ? ` · reached before ${s.previously}` : '';
  const counts = `total ${s.total}${s.fannedOut ? '' : '+'} · sent ${s.sent} · failed ${s.failed} · bounced ${s.bounced} · ${s.skippedText} · unclear ${s.unclear}${previously} · remaining ${s.remaining}`;
  const reason = s.reason && s.state !== 'sending' ? ` — ${s.reason}` : '';
  const when = s.state === 'scheduled' || (s.state === 'paused' && !s.startedAt) ? ` for ${describeSendTime(Date.parse(s.at), s.zone)}` : '';
  const parked = s.parked > 0 ? ` · ${s.parked} batch(es) parked` : '';
  const warning = s.warning ? `\n  warning: ${s.warning}` : '';
  return `${s.id}  ${s.slug} → ${s.list}  ${s.state}${when}${reason}\n  editions: ${s.plan.summary}\n  ${counts} · ${s.rate} msgs/s · ETA ${duration(s.eta)}${parked}${warning}`;
}

const finished = (s: CampaignStatus) => s.state === 'done' || s.state === 'cancelled';

async function follow(service: CampaignService, id: string): Promise<CampaignStatus> {
  let status = await service.status(id);
  const bar = process.stderr.isTTY
    ? new cliProgress.SingleBar(
        { format: '{bar} {percentage}% | {value}/{total} | {state} | {rate} msgs/s | ETA {eta_text} | unclear {unclear}', stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const payload = (s: CampaignStatus) => ({ state: s.state, rate: s.rate, eta_text: duration(s.eta), unclear: s.unclear });
  const handled = (s: CampaignStatus) => s.total - s.remaining;
  bar?.start(Math.max(1, status.total), handled(status), payload(status));
  let lastLine = 0;
  while (!finished(status)) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    status = await service.status(id);
    if (bar) {
      bar.setTotal(Math.max(1, status.total));
      bar.update(handled(status), payload(status));
    } else if (Date.now() - lastLine > 5000) {
      lastLine = Date.now();
      process.stderr.write(`${formatStatusLine(status)}\n`);
    }
  }
  bar?.stop();
  return status;
}

/** `depesche status` (options in ../registry.ts). */
export function status(id: string | undefined, options: { follow?: boolean; unclear?: boolean; json?: boolean }): Promise<void> {
  return withCampaigns(async (service) => {
    const out = (text: string): void => void process.stdout.write(`${text}\n`);
    if (id === undefined) {
      const all = await service.list();
      if (options.json) return out(JSON.stringify(all, null, 2));
      if (all.length === 0) return out('No campaigns yet. Start one with `depesche send <slug> --list <name>`.');
      for (const s of all) out(formatStatusLine(s));
      return;
    }
    if (options.unclear) {
      const unclear = await service.unclear(id);
      if (options.json) return out(JSON.stringify(unclear, null, 2));
      if (unclear.length === 0) return out(`Campaign ${id} has no unclear recipients.`);
      for (const r of unclear) out(`${r.id}\t${r.email ?? '(deleted)'}\t${r.lang ?? ''}\t${r.cause}`);
      const causes = new Map<string, number>();
      for (const r of unclear) causes.set(r.cause, (causes.get(r.cause) ?? 0) + 1);
      const seen = [...causes].map(([cause, n]) => `${n} ${cause}`).join(', ');
      process.stderr.write(
        `${unclear.length} unclear (${seen}): their mail was handed to SMTP but the answer never reached the ledger, so it may or may not have arrived. ` +
          `Resend on purpose with \`depesche resend ${id} --unclear\`.\n`,
      );
      return;
    }
    const status = options.follow ? await follow(service, id) : await service.status(id);
    out(options.json ? JSON.stringify(status, null, 2) : formatStatusLine(status));
  });
}
