// SMTP transports compared, each in its own process, on the campaign's finished messages
// of the sample briefing, into the SMTP sink in another process: CPU µs per message of the
// sending process and msgs/s, interleaved rounds (every way once, then again), medians.
//   nodemailer-raw   nodemailer as documented: a pooled transporter, `raw` messages (the
//                    baseline; the former worker transport, nodemailer's pool reached through
//                    private API with its DATA stage patched process-wide, is gone)
//   smtp-connection  nodemailer's exported SMTPConnection under a ten-line pool of our own
//   own-client       src/transport/smtp-client.ts
//   … -dkim          the same with RSA-2048 DKIM (nodemailer's signer, or ours)
// Runnable alone: `node bench/smtp.ts`. BENCH_SMTP_COUNT messages per run (default 3,000).
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createCompiler } from '../src/render/index.ts';
import { loadAverage, median, root, startSinkProcess } from './_support.ts';

const COUNT = Number(process.env.BENCH_SMTP_COUNT ?? 3000);
const ROUNDS = Number(process.env.BENCH_SMTP_ROUNDS ?? 3);
const POOL = Number(process.env.BENCH_SEND_POOL ?? 40);
const WAYS = (process.env.BENCH_SMTP_WAYS ?? 'nodemailer-raw,smtp-connection,own-client,nodemailer-raw-dkim,own-client-dkim').split(',');
const exec = promisify(execFile);

export async function run(): Promise<void> {
  const compiler = createCompiler({ contentDir: root, publicUrl: 'https://news.example.org' });
  const editions = await compiler.compile('2026-02-22-china-ai2x');
  const file = join(mkdtempSync(join(tmpdir(), 'depesche-bench-')), 'edition.json');
  writeFileSync(file, JSON.stringify(editions));
  const sink = await startSinkProcess();
  const samples = new Map<string, { cpu: number[]; rate: number[] }>(WAYS.map((w) => [w, { cpu: [], rate: [] }]));
  const load = [loadAverage()];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const way of WAYS) {
        // DKIM with nodemailer's signer runs at about a hundred per second: fewer of those.
        const count = way === 'nodemailer-raw-dkim' ? Math.ceil(COUNT / 4) : COUNT;
        const { stdout } = await exec(join(root, 'node_modules/.bin/node'), [join(root, 'bench/_smtp-sender.ts'), way, sink.url, file, String(count), String(POOL)], { cwd: root, maxBuffer: 1 << 20 });
        const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as { cpuUs: number; msgsPerSecond: number };
        samples.get(way)!.cpu.push(result.cpuUs);
        samples.get(way)!.rate.push(result.msgsPerSecond);
      }
      load.push(loadAverage());
    }
  } finally {
    await sink.stop();
  }
  console.log(`smtp: ${COUNT} messages of ${editions.map((e) => `${e.lang} ${Math.round(e.html.length / 1024)} KB`).join(', ')} of HTML per run, pool ${POOL}, ${ROUNDS} interleaved rounds, each way in its own process; load ${load.join(' → ')}`);
  const base = median(samples.get('nodemailer-raw')?.cpu ?? [NaN]);
  for (const [way, { cpu, rate }] of samples) {
    console.log(`  ${way.padEnd(20)} ${median(cpu).toFixed(0).padStart(6)} µs CPU/msg [${Math.min(...cpu).toFixed(0)}–${Math.max(...cpu).toFixed(0)}]  ${median(rate).toFixed(0).padStart(5)} msgs/s  ${(median(cpu) / base).toFixed(2)}× nodemailer-raw CPU`);
  }
}

if (import.meta.main) await run();
