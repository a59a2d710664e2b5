// Helpers the benchmarks share: the SMTP sink in its own process and what /proc says
// about a process (CPU seconds, peak RSS), so each figure is measured from outside.
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface SinkCounts {
  count: number;
  distinct: number;
}

export interface SinkProcess {
  pid: number;
  url: string;
  counts(): Promise<SinkCounts>;
  reset(): Promise<SinkCounts>;
  stop(): Promise<void>;
}

export async function startSinkProcess(): Promise<SinkProcess> {
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
export function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** Peak resident set of a process, from the kernel's high-water mark. */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return Math.round(kb / 1024);
}

/** Median: other processes on the machine add spikes that a mean would fold in. */
export function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The machine's load while a bench ran, to print beside its figures. */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}
