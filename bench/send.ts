// Send benchmark: BENCH_SEND_COUNT recipients (default 20,000, half DE, half EN) end to
// end — campaign in Redis, fan-out, batches, ledger, a worker PROCESS, pooled SMTP — into
// an SMTP sink running in its own process. Baseline in the same run: the same mails with
// plain nodemailer `sendMail`, one non-pooled transporter per message (a new SMTP
// connection each), personalized the usual way (fill the HTML and text, let nodemailer
// build the MIME), with as many messages in flight as the worker allows, over the first
// BENCH_SEND_BASELINE_COUNT (default 2,000) of the same mails.
// Prints msgs/s for both, the ratio and the worker's peak RSS.
// Runnable alone: `npx node bench/send.ts`.
import { fork, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { CampaignService } from '../src/campaign/index.ts';
import { createRedis, keyspace, loadConfig } from '../src/config/index.ts';
import { createCompiler } from '../src/render/index.ts';
import { compileMerge, fillMerge, greetingFor } from '../src/render/merge.ts';
import { RedisSubscriberStore } from '../src/subscribers/redis-store.ts';
import { signToken } from '../src/subscribers/tokens.ts';
import { startRedis } from '../test/support/redis.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const COUNT = Number(process.env.BENCH_SEND_COUNT ?? 20_000);
// The baseline runs at a few dozen mails per second; the first 2,000 of the same mails
// give its rate without making `npm run bench` take ten minutes. Set it to COUNT for all.
const BASELINE_COUNT = Math.min(COUNT, Number(process.env.BENCH_SEND_BASELINE_COUNT ?? 2_000));
// 40 connections (80 messages in flight, for the baseline too): measured on 2 cores,
// 5,000 mails: pool 5 → 346 msgs/s, 10 → 445, 20 → 538, 40 → 692; the more answers
// arrive per event-loop turn, the more claims and marks share one Redis write.
const POOL = Number(process.env.BENCH_SEND_POOL ?? 40);
const SLUG = '2026-02-22-china-ai2x';
const SECRET = 'b'.repeat(40);
const PUBLIC_URL = 'https://news.example.org';

interface SinkCounts {
  count: number;
  distinct: number;
}

async function startSinkProcess() {
  const child = fork(join(root, 'bench/_smtp-sink.ts'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const port = await new Promise<number>((resolve) => child.once('message', (m) => resolve((m as { port: number }).port)));
  const ask = (message: string) =>
    new Promise<SinkCounts>((resolve) => {
      child.once('message', (m) => resolve(m as SinkCounts));
      child.send(message);
    });
  return {
    pid: child.pid!,
    url: `smtp://127.0.0.1:${port}`,
    counts: () => ask('count'),
    reset: () => ask('reset'),
    stop: () => new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.send('stop'))),
  };
}

/** CPU seconds (user + system) a process has used, from /proc; robust to a busy machine. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Peak resident set of a process, from the kernel's high-water mark. */
function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

export async function run(): Promise<void> {
  const redis = await startRedis();
  const sink = await startSinkProcess();
  const env = {
    REDIS_URL: redis.url,
    SMTP_URL: sink.url,
    DEPESCHE_PREFIX: 'bench',
    DEPESCHE_SECRET: SECRET,
    MAIL_FROM: 'China AI2X Briefing <briefing@example.org>',
    PUBLIC_URL,
    SEND_RATE: '100000',
    BATCH_SIZE: '500',
    SMTP_POOL_SIZE: String(POOL),
    WORKER_CONCURRENCY: '4',
    LOG_LEVEL: 'warn',
    CONTENT_DIR: root,
  };
  const config = loadConfig({ env });
  const connection = createRedis(config);
  const store = new RedisSubscriberStore(connection, keyspace(config.DEPESCHE_PREFIX));
  const compiler = createCompiler({ contentDir: root, publicUrl: PUBLIC_URL });
  const editions = await compiler.compile(SLUG);
  const service = new CampaignService({ config, redis: connection, subscribers: store, compiler: { compile: async () => editions, lint: async () => [] } });
  let worker: ReturnType<typeof spawn> | undefined;
  try {
    const rows = Array.from({ length: COUNT }, (_, i) => ({ email: `reader${i}@example.net`, name: `Reader ${i}`, lang: (i % 2 ? 'en' : 'de') as 'de' | 'en' }));
    const ids: string[] = [];
    for (let i = 0; i < rows.length; i += 5000) ids.push(...(await store.upsertMany(rows.slice(i, i + 5000), 'bench', { defaultStatus: 'active' })).map((r) => r.id));
    const htmlBytes = editions.map((e) => `${e.lang} ${Math.round(e.html.length / 1024)} KB`).join(', ');
    console.log(`send: ${COUNT} recipients, editions ${htmlBytes} of HTML, SMTP pool ${POOL}, sink in its own process`);

    // ── Depesche: worker process, Redis ledger, pooled SMTP ──────────────────────────
    // BENCH_SEND_WORKER_FLAGS passes node flags to the worker, e.g. --cpu-prof for profiling.
    const flags = (process.env.BENCH_SEND_WORKER_FLAGS ?? '').split(' ').filter(Boolean);
    worker = spawn(join(root, 'node_modules/.bin/node'), [...flags, join(root, 'worker/index.ts')], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
    await new Promise((r) => setTimeout(r, 1500)); // let it connect; not part of the measurement
    const started = performance.now();
    const cpuBefore = cpuSeconds(worker.pid!);
    const sinkCpuBefore = cpuSeconds(sink.pid);
    const { id } = await service.create({ slug: SLUG, list: 'bench' });
    for (;;) {
      const status = await service.status(id!);
      if (status.state === 'done') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const seconds = (performance.now() - started) / 1000;
    const status = await service.status(id!);
    const rss = peakRssMb(worker.pid!);
    const cpuPerMessage = ((cpuSeconds(worker.pid!) - cpuBefore) / COUNT) * 1e6;
    const sinkCpuPerMessage = ((cpuSeconds(sink.pid) - sinkCpuBefore) / COUNT) * 1e6;
    const received = await sink.counts();
    const depesche = COUNT / seconds;
    console.log(`  depesche : ${depesche.toFixed(0)} msgs/s (${COUNT} in ${seconds.toFixed(1)} s; sent ${status.sent}, unclear ${status.unclear}, sink got ${received.count} for ${received.distinct} addresses), worker peak RSS ${rss} MB, worker CPU ${cpuPerMessage.toFixed(0)} µs/msg, sink CPU ${sinkCpuPerMessage.toFixed(0)} µs/msg`);
    worker.kill('SIGTERM');
    await new Promise((r) => worker!.once('exit', r));
    worker = undefined;
    await sink.reset();

    // ── Baseline: plain nodemailer, a transporter per message ────────────────────────
    const templates = Object.fromEntries(editions.map((e) => [e.lang, { e, html: compileMerge(e.html), text: compileMerge(e.text) }]));
    const inFlight = POOL * 2;
    let next = 0;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        while (next < BASELINE_COUNT) {
          const i = next++;
          const row = rows[i]!;
          const { e, html, text } = templates[row.lang]!;
          const unsubscribeUrl = `${PUBLIC_URL}/unsubscribe/${signToken({ act: 'unsubscribe', sub: ids[i]!, cmp: 'baseline' }, SECRET)}`;
          const values = {
            name: row.name,
            greeting: greetingFor(e.greeting, row.name),
            unsubscribeUrl,
            preferencesUrl: `${PUBLIC_URL}/preferences/${signToken({ act: 'preferences', sub: ids[i]!, cmp: 'baseline' }, SECRET)}`,
            viewOnlineUrl: `${PUBLIC_URL}/archive/${SLUG}/${row.lang}`,
            subscribeUrl: `${PUBLIC_URL}/subscribe?lang=${row.lang}`,
            archiveUrl: `${PUBLIC_URL}/archive`,
          };
          const transporter = nodemailer.createTransport(sink.url);
          await transporter.sendMail({
            from: env.MAIL_FROM,
            to: { name: row.name, address: row.email },
            subject: e.subject,
            html: fillMerge(html, values, 'html'),
            text: fillMerge(text, values, 'text'),
            headers: { 'Content-Language': row.lang, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
            list: { unsubscribe: [unsubscribeUrl, 'mailto:unsubscribe@example.org?subject=unsubscribe'], id: 'bench.example.org' },
          });
          transporter.close();
        }
      }),
    );
    const baseSeconds = (performance.now() - t0) / 1000;
    const baseline = BASELINE_COUNT / baseSeconds;
    const baseReceived = await sink.counts();
    console.log(`  baseline : ${baseline.toFixed(0)} msgs/s (${BASELINE_COUNT} in ${baseSeconds.toFixed(1)} s, ${inFlight} in flight; sink got ${baseReceived.count}) — nodemailer sendMail, one non-pooled transporter per message`);
    console.log(`  ratio    : ${(depesche / baseline).toFixed(1)}× baseline; worker peak RSS ${rss} MB (aim: ≥ 5×, < 200 MB)`);
  } finally {
    worker?.kill('SIGKILL');
    await service.close();
    connection.disconnect();
    await sink.stop();
    await redis.stop();
  }
}

if (import.meta.main) await run();
