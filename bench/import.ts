// Import benchmark: a generated CSV of BENCH_IMPORT_ROWS rows (default 1,000,000) into a
// private redis-server through `depesche subscribers import` in a process of its own. Prints
// rows/s, that process's peak RSS and Redis bytes per subscriber, beside a baseline: the same rows
// written as bare pipelined HSETs (no validation, no unique index, no list, no counters).
// Runnable alone: `npx node bench/import.ts`.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse';
import { Redis } from 'ioredis';
import { keyspace } from '../src/config/redis.ts';
import { RedisSubscriberStore } from '../src/subscribers/redis-store.ts';
import { freePort } from '../test/support/ports.ts';

const ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 1_000_000);
/** One row in this many is invalid, so the report path is part of the measurement. */
const BAD_EVERY = 1000;

async function generate(file: string, rows: number): Promise<number> {
  const out = createWriteStream(file);
  let bad = 0;
  const write = (line: string) => (out.write(line) ? undefined : once(out, 'drain'));
  await write('email,name,lang\n');
  for (let i = 0; i < rows; i++) {
    let line: string;
    if (i % BAD_EVERY === 999) {
      bad++;
      line = `broken${i}@@example.org,Broken ${i},de\n`;
    } else {
      line = `reader.${i}@mail${i % 97}.example.org,Reader ${i},${i % 3 === 0 ? 'en' : 'de'}\n`;
    }
    const waiting = write(line);
    if (waiting) await waiting;
  }
  out.end();
  await once(out, 'finish');
  return bad;
}

async function startServer(dir: string): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  // AOF as production runs it (everysec); `always` would measure the disk, not Depesche.
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'everysec', '--save', '', '--maxmemory-policy', 'noeviction', '--logfile', ''],
    { stdio: 'ignore' },
  );
  const deadline = Date.now() + 10_000;
  for (;;) {
    const probe = new Redis({ port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    probe.on('error', () => {});
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      return { port, child };
    } catch {
      probe.disconnect();
      if (Date.now() > deadline) throw new Error('redis-server did not start (is it installed?)');
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** Seconds of CPU the server has used, user plus system: wall time alone lies on a busy machine. */
async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1] ?? 0) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1] ?? 0);
}

async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/used_memory:(\d+)/.exec(info)?.[1] ?? 0);
}

interface ImporterRun {
  rows: number;
  rejected: number;
  ms: number;
  /** User plus system CPU seconds of the importer process. */
  cpu: number;
  /** Peak resident memory of the importer process (the kernel's high-water mark). */
  maxRss: number;
}

/** VmHWM (peak RSS) and CPU seconds of a running process, from /proc (Linux). */
function procStats(pid: number): { hwm: number; cpu: number } | undefined {
  try {
    const hwm = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return { hwm, cpu: (Number(fields[11]) + Number(fields[12])) / 100 };
  } catch {
    return undefined;
  }
}

/**
 * The import as users run it, `depesche subscribers import`, in a process of its own: its
 * peak RSS is the importer's alone, with the heap settings the command gives itself, not
 * the baseline's heap left over in this process.
 */
async function runImporter(port: number, file: string, report: string): Promise<ImporterRun> {
  const bin = fileURLToPath(new URL('../bin/depesche.js', import.meta.url));
  const started = performance.now();
  const child = spawn(process.execPath, [bin, 'subscribers', 'import', file, '--list', 'bench', '--report', report], {
    env: { ...process.env, REDIS_URL: `redis://127.0.0.1:${port}`, DEPESCHE_PREFIX: 'depesche', DEPESCHE_CONFIG: '' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c));
  let last = { hwm: 0, cpu: 0 };
  // Keeps the highest mark seen: the last poll may find the process a zombie, whose status has no VmHWM.
  const poll = setInterval(() => {
    const now = procStats(child.pid!);
    if (now) last = { hwm: Math.max(last.hwm, now.hwm), cpu: Math.max(last.cpu, now.cpu) };
  }, 100);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearInterval(poll);
  if (code !== 0) throw new Error(`depesche subscribers import exited ${code}: ${stdout}`);
  return {
    rows: Number(/(\d+) rows read/.exec(stdout)?.[1]),
    rejected: Number(/rejected (\d+)/.exec(stdout)?.[1]),
    ms: performance.now() - started,
    cpu: last.cpu,
    maxRss: last.hwm,
  };
}

/**
 * Where the bytes go, per subscriber: the big shared keys measured whole (MEMORY USAGE …
 * SAMPLES 0), the per-subscriber keys (hash, consent log) from a sample of SAMPLE members.
 */
const SAMPLE = 2000;
async function breakdown(redis: Redis, prefix: string, count: number): Promise<Record<string, number>> {
  const keys = keyspace(prefix);
  const whole = async (key: string) => Number((await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0')) ?? 0) / count;
  const ids = await redis.zrange(keys.key('list', 'bench', 'members'), '0', String(SAMPLE - 1));
  const sampled = async (key: (id: string) => string) => {
    let sum = 0;
    for (const id of ids) sum += Number((await redis.call('MEMORY', 'USAGE', key(id), 'SAMPLES', '0')) ?? 0);
    return sum / ids.length;
  };
  return {
    'subscriber hash': await sampled((id) => keys.key('sub', id)),
    'email index': await whole(keys.key('email')),
    'list members': await whole(keys.key('list', 'bench', 'members')),
    counters: (await whole(keys.key('list-counts'))) + (await whole(keys.key('lists'))),
    'search index': (await whole(keys.key('search', 'email'))) + (await whole(keys.key('search', 'word'))),
    'consent log': await sampled((id) => keys.key('sub', id, 'log')),
  };
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const rate = (rows: number, ms: number) => Math.round(rows / (ms / 1000));

export async function run(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'depesche-bench-import-'));
  const { port, child } = await startServer(dir);
  const redis = new Redis({ port });
  try {
    const file = join(dir, 'list.csv');
    const started = performance.now();
    const bad = await generate(file, ROWS);
    console.log(`generated ${ROWS.toLocaleString('en')} rows (${bad} invalid) in ${((performance.now() - started) / 1000).toFixed(1)} s`);

    // Baseline: a plain csv-parse stream into bare HSETs, pipelined in the same batch size.
    const baseKeys = keyspace('baseline');
    const before0 = await usedMemory(redis);
    const baseStart = performance.now();
    let batch = redis.pipeline();
    let inBatch = 0;
    let baseRows = 0;
    for await (const record of createReadStream(file).pipe(parse({ from_line: 2 })) as AsyncIterable<string[]>) {
      batch.hset(baseKeys.key('sub', ++baseRows), 'email', record[0]!, 'name', record[1]!, 'lang', record[2]!);
      if (++inBatch === 2000) {
        await batch.exec();
        batch = redis.pipeline();
        inBatch = 0;
      }
    }
    await batch.exec();
    const baseMs = performance.now() - baseStart;
    const baseBytes = (await usedMemory(redis)) - before0;
    await redis.flushall();

    // Depesche.
    const store = new RedisSubscriberStore(redis, keyspace('depesche'));
    const before = await usedMemory(redis);
    const redisCpuBefore = await redisCpu(redis);
    const { rows, rejected, ms: importMs, cpu: importerCpu, maxRss: peak } = await runImporter(port, file, join(dir, 'rejected.csv'));
    const summary = { rows, rejected };
    const serverCpu = (await redisCpu(redis)) - redisCpuBefore;
    const [stats] = await store.lists();
    const count = stats?.total ?? 0;
    const bytes = (await usedMemory(redis)) - before;
    if (count !== ROWS - bad || summary.rejected !== bad) throw new Error(`import lost rows: ${count} subscribers, ${summary.rejected} rejected, expected ${ROWS - bad} and ${bad}`);

    const depescheRate = rate(summary.rows, importMs);
    const baselineRate = rate(baseRows, baseMs);
    console.log(`import          ${depescheRate.toLocaleString('en')} rows/s (${(importMs / 1000).toFixed(1)} s)   baseline bare HSET ${baselineRate.toLocaleString('en')} rows/s   ratio ${(depescheRate / baselineRate).toFixed(2)}`);
    console.log(`importer RSS    peak ${mb(peak)} of its own process (goal < 150 MB at 1M rows; streaming: it does not grow with the file)`);
    console.log(
      `cpu             importer ${importerCpu.toFixed(1)} s (${((importerCpu / summary.rows) * 1e6).toFixed(1)} µs/row), redis ${serverCpu.toFixed(1)} s (${((serverCpu / summary.rows) * 1e6).toFixed(1)} µs/row); rows/s on an idle machine ≈ ${rate(summary.rows, Math.max(importerCpu, serverCpu) * 1000).toLocaleString('en')}`,
    );
    console.log(
      `redis memory    ${Math.round(bytes / count)} bytes/subscriber (hash, unique index, list zset, counters)   baseline bare hash ${Math.round(baseBytes / baseRows)} bytes/row   ratio ${(bytes / count / (baseBytes / baseRows)).toFixed(2)}`,
    );
    const parts = await breakdown(redis, 'depesche', count);
    const record = parts['subscriber hash']! + parts['email index']! + parts['list members']! + parts.counters!;
    console.log(`  per key type  ${Object.entries(parts).map(([k, v]) => `${k} ${Math.round(v)} B`).join(', ')} (MEMORY USAGE; hash and log from ${SAMPLE} samples)`);
    console.log(`  record        ${Math.round(record)} B/subscriber for the record and its list membership (hash, email index, list, counters; goal ≤ 250 B), search index ${Math.round(parts['search index']!)} B and consent log ${Math.round(parts['consent log']!)} B apart`);
    const [encoding, listpackValue, listpackEntries] = [
      await redis.call('OBJECT', 'ENCODING', keyspace('depesche').key('sub', (await redis.zrange(keyspace('depesche').key('list', 'bench', 'members'), '0', '0'))[0]!)),
      ((await redis.call('CONFIG', 'GET', 'hash-max-listpack-value')) as string[])[1],
      ((await redis.call('CONFIG', 'GET', 'hash-max-listpack-entries')) as string[])[1],
    ];
    console.log(`  encoding      subscriber hash ${encoding} (hash-max-listpack-value ${listpackValue}, -entries ${listpackEntries})`);
    console.log(`subscribers     ${count.toLocaleString('en')} imported, ${summary.rejected} rejected and reported`);
  } finally {
    redis.disconnect();
    child.kill('SIGKILL');
    await once(child, 'exit').catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
