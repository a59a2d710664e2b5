// Send benchmark: Depesche end to end against what a competent developer would write, in
// one run, interleaved (every row once per round, ROUNDS rounds), each sender in a process
// of its own, into the SMTP sink in another process. The sample briefing, readers half DE,
// half EN, SMTP pool BENCH_SEND_POOL (default 40) on every side, 2×pool in flight.
//
// Rows:
//   (a) nodemailer `sendMail` on a pooled transporter, MIME built per message (and + DKIM)
//   (b) the same pool, the MIME built once per edition and each reader's values spliced
//       in (Depesche's builder), sent as `raw` (and + DKIM, nodemailer's signer)
//   floor: the transport alone, the same prebuilt MIME through our SMTP client
//       (src/transport/smtp-client.ts) on the same pool, no Redis, no ledger (and + DKIM,
//       our signer): what the worker could reach if the ledger cost nothing
//   Depesche: campaign in Redis, fan-out, batches, ledger, one worker process (and + DKIM,
//       RSA-2048, signed by src/transport/dkim.ts); BENCH_SEND_WORKERS adds variants
//
// Per row: msgs/s, sender CPU µs per message (the worker's for Depesche, from /proc),
// redis-server CPU µs per message (from /proc of this bench's own redis-server), Redis
// commands per message (INFO commandstats before and after), and the sender's peak RSS.
// Medians over the rounds; then one summary line.
//
// BENCH_SEND_COUNT readers per Depesche run (default 3,000); the per-message-MIME rows
// send a quarter as many (they run at about a tenth of the speed). BENCH_SEND_ROUNDS
// (default 3). BENCH_SEND_FSYNC: the redis-server's appendfsync (default everysec, as
// docker-compose.yml runs it). BENCH_SEND_WORKERS: extra worker variants, `;`-separated,
// each `label: ENV=value … --node-flag …`, e.g.
//   BENCH_SEND_WORKERS='semi8: WORKER_HEAP_MB=0 --max-semi-space-size=8; none: WORKER_HEAP_MB=0'
// BENCH_SEND_ROWS: a comma-separated subset of row keys (a, a-dkim, b, b-dkim, floor,
// floor-dkim, depesche, depesche-dkim, and the variants' labels). BENCH_SEND_RATE: the
// workers' SEND_RATE (default 100000, i.e. unthrottled). BENCH_SEND_WORKER_LOG: a file the workers'
// stdout goes to (for node flags such as --trace-gc). In a variant, DKIM=1 signs with the
// bench's key as the depesche-dkim row does.
// Runnable alone: `node bench/send.ts`.
import { execFile, spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { CampaignService } from '../src/campaign/index.ts';
import { createRedis, keyspace, loadConfig } from '../src/config/index.ts';
import { createCompiler } from '../src/render/index.ts';
import { RedisSubscriberStore } from '../src/subscribers/redis-store.ts';
import { startRedis } from '../test/support/redis.ts';
import { cpuSeconds, loadAverage, median, peakRssMb, root, startSinkProcess } from './_support.ts';

const COUNT = Number(process.env.BENCH_SEND_COUNT ?? 3_000);
const ROUNDS = Number(process.env.BENCH_SEND_ROUNDS ?? 3);
const POOL = Number(process.env.BENCH_SEND_POOL ?? 40);
const FSYNC = process.env.BENCH_SEND_FSYNC ?? 'everysec';
const SLUG = '2026-02-22-china-ai2x';
const SECRET = 'b'.repeat(40);
const PUBLIC_URL = 'https://news.example.org';
const WARM_UP = 200;
const exec = promisify(execFile);

interface Figures {
  msgsPerSecond: number;
  cpuUs: number;
  redisCpuUs?: number;
  redisCommands?: number;
  peakRssMb: number;
  note?: string;
}

interface Row {
  key: string;
  label: string;
  measure(): Promise<Figures>;
}

/** Calls and µs of every command so far, from INFO commandstats. */
async function commandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const info = await redis.info('commandstats');
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const match of info.matchAll(/cmdstat_([\w|-]+):calls=(\d+),usec=(\d+)/g)) stats.set(match[1]!, { calls: Number(match[2]), usec: Number(match[3]) });
  return stats;
}

/** Total calls of every command so far, from INFO commandstats. */
async function commandCount(redis: Redis): Promise<number> {
  let total = 0;
  for (const { calls } of (await commandStats(redis)).values()) total += calls;
  return total;
}

/** Per message: the commands called most between two snapshots, with the µs Redis spent in each (BENCH_VERBOSE). */
function commandBreakdown(before: Map<string, { calls: number; usec: number }>, after: Map<string, { calls: number; usec: number }>, count: number): string {
  return [...after]
    .map(([name, { calls, usec }]) => ({ name, calls: (calls - (before.get(name)?.calls ?? 0)) / count, usec: (usec - (before.get(name)?.usec ?? 0)) / count }))
    .filter((c) => c.calls >= 0.01)
    .sort((a, b) => b.usec - a.usec)
    .map((c) => `${c.name} ${c.calls.toFixed(2)}×/${c.usec.toFixed(1)}µs`)
    .join(', ');
}

function parseVariants(text: string): { label: string; env: Record<string, string>; flags: string[] }[] {
  return text
    .split(';')
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const [label, rest = ''] = entry.split(/:(.*)/s) as [string, string?];
      const words = rest.trim().split(/\s+/).filter(Boolean);
      return {
        label: label.trim(),
        env: Object.fromEntries(words.filter((w) => !w.startsWith('--')).map((w) => w.split(/=(.*)/s).slice(0, 2) as [string, string])),
        flags: words.filter((w) => w.startsWith('--')),
      };
    });
}

export async function run(): Promise<void> {
  const redis = await startRedis();
  const sink = await startSinkProcess();
  const scratch = mkdtempSync(join(tmpdir(), 'depesche-bench-send-'));
  const admin = new Redis(redis.url);
  await admin.config('SET', 'appendfsync', FSYNC);
  const redisPid = Number(/process_id:(\d+)/.exec(await admin.info('server'))![1]);
  const keyFile = join(scratch, 'dkim.pem');
  writeFileSync(keyFile, generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
  const env = {
    REDIS_URL: redis.url,
    SMTP_URL: sink.url,
    DEPESCHE_PREFIX: 'bench',
    DEPESCHE_SECRET: SECRET,
    MAIL_FROM: 'China AI2X Briefing <briefing@example.org>',
    PUBLIC_URL,
    SEND_RATE: process.env.BENCH_SEND_RATE ?? '100000',
    BATCH_SIZE: '500',
    SMTP_POOL_SIZE: String(POOL),
    WORKER_CONCURRENCY: '4',
    LOG_LEVEL: 'warn',
    CONTENT_DIR: root,
  };
  const dkimEnv = { DKIM_DOMAIN: 'example.org', DKIM_SELECTOR: 'bench', DKIM_PRIVATE_KEY_FILE: keyFile };
  const config = loadConfig({ env });
  const connection = createRedis(config);
  const store = new RedisSubscriberStore(connection, keyspace(config.DEPESCHE_PREFIX));
  const editions = await createCompiler({ contentDir: root, publicUrl: PUBLIC_URL }).compile(SLUG);
  const editionsFile = join(scratch, 'editions.json');
  writeFileSync(editionsFile, JSON.stringify(editions));
  const service = new CampaignService({ config, redis: connection, subscribers: store, compiler: { compileForSend: async () => ({ editions, findings: [] }) } });
  const rows = Array.from({ length: COUNT }, (_, i) => ({ email: `reader${i}@example.net`, name: `Reader ${i}`, lang: (i % 2 ? 'en' : 'de') as 'de' | 'en' }));
  for (let i = 0; i < rows.length; i += 5000) await store.upsertMany(rows.slice(i, i + 5000), 'bench', { defaultStatus: 'active' });
  // A small list each fresh worker sends to first, unmeasured, as the baselines warm up
  // before they measure: connections open, code compiled.
  await store.upsertMany(rows.slice(0, WARM_UP), 'warm-up', { defaultStatus: 'active' });

  /** One sender child of bench/_smtp-sender.ts: its own figures, measured inside it after a warm-up. */
  const baseline = (way: string, count: number) => async (): Promise<Figures> => {
    const before = (await sink.counts()).count;
    const { stdout } = await exec(join(root, 'node_modules/.bin/node'), [join(root, 'bench/_smtp-sender.ts'), way, sink.url, editionsFile, String(count), String(POOL)], { cwd: root, maxBuffer: 1 << 20 });
    const figures = JSON.parse(stdout.trim().split('\n').at(-1)!) as Figures;
    const arrived = (await sink.counts()).count - before;
    return { ...figures, note: `${count} sent, sink got ${arrived} with the warm-up` };
  };

  const sent = new Set<string>();
  const sendCampaign = async (list: string) => {
    const { id } = await service.create({ slug: SLUG, list, again: sent.has(list) });
    sent.add(list);
    let status = await service.status(id!);
    while (status.state !== 'done') {
      await new Promise((r) => setTimeout(r, 250));
      status = await service.status(id!);
    }
    return status;
  };
  /** A campaign to the whole list, sent by a fresh (warmed-up) worker process; everything measured from outside. */
  const depesche = (extraEnv: Record<string, string>, flags: string[]) => async (): Promise<Figures> => {
    // BENCH_SEND_WORKER_LOG=<file>: the workers' stdout (e.g. --trace-gc) appended there.
    const log = process.env.BENCH_SEND_WORKER_LOG ? openSync(process.env.BENCH_SEND_WORKER_LOG, 'a') : 'ignore';
    // A variant's BENCH_WORKER_ROOT runs the worker of another checkout (e.g. an export of
    // an earlier commit, `git archive <commit> | tar -x -C /tmp/base` with node_modules
    // linked): before and after in one interleaved run.
    const workerRoot = extraEnv.BENCH_WORKER_ROOT ?? root;
    const worker = spawn(join(root, 'node_modules/.bin/node'), [...flags, join(workerRoot, 'worker/index.ts')], { cwd: workerRoot, env: { ...process.env, ...env, ...extraEnv }, stdio: ['ignore', log, 'inherit'] });
    try {
      await sendCampaign('warm-up');
      const stats = await commandStats(admin);
      const before = { worker: cpuSeconds(worker.pid!), redis: cpuSeconds(redisPid), commands: await commandCount(admin), sink: (await sink.counts()).count };
      const started = performance.now();
      const status = await sendCampaign('bench');
      const seconds = (performance.now() - started) / 1000;
      const figures: Figures = {
        msgsPerSecond: COUNT / seconds,
        cpuUs: ((cpuSeconds(worker.pid!) - before.worker) / COUNT) * 1e6,
        redisCpuUs: ((cpuSeconds(redisPid) - before.redis) / COUNT) * 1e6,
        // The bench's own status polls (a few commands every 250 ms) are counted too: under 0.05 per message.
        redisCommands: ((await commandCount(admin)) - before.commands) / COUNT,
        peakRssMb: peakRssMb(worker.pid!),
      };
      const arrived = (await sink.counts()).count - before.sink;
      if (process.env.BENCH_VERBOSE) console.log(`    commands per message: ${commandBreakdown(stats, await commandStats(admin), COUNT)}`);
      return { ...figures, note: `sent ${status.sent}, unclear ${status.unclear}, sink got ${arrived}` };
    } finally {
      worker.kill('SIGTERM');
      await new Promise((r) => (worker.exitCode !== null ? r(null) : worker.once('exit', r)));
      if (typeof log === 'number') closeSync(log);
    }
  };

  const quarter = Math.ceil(COUNT / 4);
  const all: Row[] = [
    { key: 'a', label: '(a) nodemailer sendMail, pooled, MIME per message', measure: baseline('nodemailer-mime', quarter) },
    { key: 'a-dkim', label: '(a) + DKIM (nodemailer)', measure: baseline('nodemailer-mime-dkim', quarter) },
    { key: 'b', label: '(b) same pool, MIME prebuilt, values spliced, raw', measure: baseline('nodemailer-raw', COUNT) },
    { key: 'b-dkim', label: '(b) + DKIM (nodemailer)', measure: baseline('nodemailer-raw-dkim', quarter) },
    { key: 'floor', label: 'floor: prebuilt MIME, our SMTP client, same pool', measure: baseline('own-client', COUNT) },
    { key: 'floor-dkim', label: 'floor + DKIM (our signer)', measure: baseline('own-client-dkim', COUNT) },
    { key: 'depesche', label: 'Depesche, one worker, end to end', measure: depesche({}, []) },
    { key: 'depesche-dkim', label: 'Depesche + DKIM (our signer), one worker', measure: depesche(dkimEnv, []) },
    // A variant with DKIM=1 signs as the depesche-dkim row does.
    ...parseVariants(process.env.BENCH_SEND_WORKERS ?? '').map((v) => ({ key: v.label, label: `Depesche, worker ${v.label}`, measure: depesche(v.env.DKIM === '1' ? { ...dkimEnv, ...v.env } : v.env, v.flags) })),
  ];
  const wanted = process.env.BENCH_SEND_ROWS?.split(',').map((k) => k.trim());
  const chosen = all.filter((row) => !wanted || wanted.includes(row.key));
  const results = new Map<string, Figures[]>(chosen.map((row) => [row.key, []]));
  const loads = [loadAverage()];
  console.log(`send: ${COUNT} readers (DE/EN), editions ${editions.map((e) => `${e.lang} ${Math.round(e.html.length / 1024)} KB`).join(', ')} of HTML, SMTP pool ${POOL}, sink in its own process, redis appendfsync ${FSYNC}, ${ROUNDS} interleaved rounds`);
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const row of chosen) {
        const figures = await row.measure();
        results.get(row.key)!.push(figures);
        if (process.env.BENCH_VERBOSE) console.log(`    round ${round + 1} ${row.key}: ${JSON.stringify(figures)}`);
      }
      loads.push(loadAverage());
    }
  } finally {
    admin.disconnect();
    await service.close();
    connection.disconnect();
    await sink.stop();
    await redis.stop();
  }

  const med = (key: string, pick: (f: Figures) => number | undefined) => {
    const values = (results.get(key) ?? []).map(pick).filter((v): v is number => v !== undefined);
    return values.length ? median(values) : undefined;
  };
  const fmt = (value: number | undefined, digits = 0) => (value === undefined ? '—' : value.toFixed(digits));
  console.log(`  load average ${loads.join(' → ')}`);
  console.log(`  ${'row'.padEnd(52)} ${'msgs/s'.padStart(7)} ${'CPU µs/msg'.padStart(11)} ${'redis µs/msg'.padStart(13)} ${'redis cmds/msg'.padStart(15)} ${'peak RSS MB'.padStart(12)}`);
  for (const row of chosen) {
    console.log(
      `  ${row.label.padEnd(52)} ${fmt(med(row.key, (f) => f.msgsPerSecond)).padStart(7)} ${fmt(med(row.key, (f) => f.cpuUs)).padStart(11)} ${fmt(med(row.key, (f) => f.redisCpuUs)).padStart(13)} ${fmt(med(row.key, (f) => f.redisCommands), 1).padStart(15)} ${fmt(med(row.key, (f) => f.peakRssMb)).padStart(12)}   ${results.get(row.key)!.at(-1)?.note ?? ''}`,
    );
  }
  const ratio = (a: string, b: string) => {
    const x = med(a, (f) => f.msgsPerSecond);
    const y = med(b, (f) => f.msgsPerSecond);
    return x && y ? `${(x / y).toFixed(2)}×` : '—';
  };
  console.log(
    `  summary: Depesche ${fmt(med('depesche', (f) => f.msgsPerSecond))} msgs/s at ${fmt(med('depesche', (f) => f.cpuUs))} µs worker CPU + ${fmt(med('depesche', (f) => f.redisCpuUs))} µs redis per message = ${ratio('depesche', 'a')} (a) and ${ratio('depesche', 'b')} (b); ` +
      `with DKIM ${ratio('depesche-dkim', 'a-dkim')} (a) and ${ratio('depesche-dkim', 'b-dkim')} (b); ` +
      `against the transport floor ${ratio('depesche', 'floor')}, with DKIM ${ratio('depesche-dkim', 'floor-dkim')}; worker peak RSS ${fmt(med('depesche', (f) => f.peakRssMb))} MB`,
  );
}

if (import.meta.main) await run();
