// CLI start-up: what `depesche --help`, `depesche <command> --help` and loading each
// command's code cost, each printed next to bare `node -e ''` measured in the same rounds
// (interleaved, so a busy machine slows both alike). Wall and CPU time are medians over
// BENCH_CLI_RUNS runs (default 5); the packages column says what a command pulls in. On a
// busy machine wall time scatters; CPU time is the steadier figure.
// Runnable alone: `npx node bench/cli.ts`.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { COMMANDS } from '../src/cli/registry.ts';
import type { CommandSpec } from '../src/cli/program.ts';

const RUNS = Number(process.env.BENCH_CLI_RUNS ?? 5);
const repo = fileURLToPath(new URL('../', import.meta.url));
const bin = fileURLToPath(new URL('../bin/depesche.js', import.meta.url));
const registry = new URL('../src/cli/registry.ts', import.meta.url).href;

/** Reports the child's own CPU time and peak RSS on stderr when it exits. */
const REPORT = `data:text/javascript,${encodeURIComponent(
  "process.on('exit', () => { const u = process.resourceUsage(); process.stderr.write('@@' + JSON.stringify({ cpu: (u.userCPUTime + u.systemCPUTime) / 1000, rss: u.maxRSS / 1024 }) + '\\n'); });",
)}`;

/** Also names the packages the child resolved (a resolve hook; used in a separate run, as it costs time itself). */
const TRACE = `data:text/javascript,${encodeURIComponent(
  "import { registerHooks } from 'node:module'; const seen = new Set(); " +
    "registerHooks({ resolve(s, c, next) { const r = next(s, c); const m = /\\/node_modules\\/((?:@[^/]+\\/)?[^/]+)\\//.exec(r.url); if (m) seen.add(m[1]); return r; } }); " +
    "process.on('exit', () => process.stderr.write('@@packages ' + JSON.stringify([...seen].sort()) + '\\n'));",
)}`;

interface Case {
  label: string;
  args: string[];
}

interface Sample {
  wall: number;
  cpu: number;
  rss: number;
}

function once(args: string[], hook = REPORT): { sample: Sample; stderr: string } {
  const started = performance.now();
  const result = spawnSync(process.execPath, ['--import', hook, ...args], { cwd: repo, encoding: 'utf8', env: { ...process.env, REDIS_URL: 'redis://127.0.0.1:1' } });
  const wall = performance.now() - started;
  if (result.status !== 0) throw new Error(`${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  const line = /^@@(\{.*\})$/m.exec(result.stderr)?.[1];
  const { cpu, rss } = line ? (JSON.parse(line) as { cpu: number; rss: number }) : { cpu: NaN, rss: NaN };
  return { sample: { wall, cpu, rss }, stderr: result.stderr };
}

function packages(args: string[]): string[] {
  const { stderr } = once(args, TRACE);
  return JSON.parse(/^@@packages (.*)$/m.exec(stderr)?.[1] ?? '[]') as string[];
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** The code a command runs with: its module, imported through the registry as the CLI does. */
function loadCase(path: string[]): Case {
  // With the compile cache on, as bin/depesche.js has it.
  const code = `(await import('node:module')).enableCompileCache?.();
const { COMMANDS } = await import(${JSON.stringify(registry)}); let spec = { commands: COMMANDS };
for (const name of ${JSON.stringify(path)}) spec = spec.commands.find((c) => c.name === name);
await spec.load();`;
  return { label: `load ${path.join(' ')}`, args: ['--input-type=module', '-e', code] };
}

function runnable(specs: readonly CommandSpec[], prefix: string[] = []): string[][] {
  return specs.flatMap((spec) => [...(spec.load ? [[...prefix, spec.name]] : []), ...runnable(spec.commands ?? [], [...prefix, spec.name])]);
}

export async function run(): Promise<void> {
  const baseline: Case = { label: "node -e ''", args: ['-e', ''] };
  const commands = runnable(COMMANDS);
  const cases: Case[] = [
    { label: 'depesche --help', args: [bin, '--help'] },
    { label: 'depesche --version', args: [bin, '--version'] },
    ...commands.map((path) => ({ label: `depesche ${path.join(' ')} --help`, args: [bin, ...path, '--help'] })),
    ...commands.map((path) => loadCase(path)),
  ];

  // Warm the file and compile caches, then interleave: baseline, two cases, baseline …
  once(baseline.args);
  for (const c of cases) once(c.args);
  const base: Sample[] = [];
  const samples = new Map<string, Sample[]>(cases.map((c) => [c.label, []]));
  for (let round = 0; round < RUNS; round++) {
    cases.forEach((c, i) => {
      if (i % 2 === 0) base.push(once(baseline.args).sample);
      samples.get(c.label)!.push(once(c.args).sample);
    });
  }
  const baseWall = median(base.map((s) => s.wall));
  const baseCpu = median(base.map((s) => s.cpu));
  console.log(`${RUNS} runs each, interleaved with bare node; medians. "+ms" is above bare node's start-up.`);
  console.log(`${"node -e ''".padEnd(34)} wall ${baseWall.toFixed(0).padStart(5)} ms            cpu ${baseCpu.toFixed(0).padStart(5)} ms            rss ${median(base.map((s) => s.rss)).toFixed(0)} MB`);
  const help: { wall: number; cpu: number }[] = [];
  for (const c of cases) {
    const s = samples.get(c.label)!;
    const wall = median(s.map((x) => x.wall));
    const cpu = median(s.map((x) => x.cpu));
    if (c.label.endsWith('--help')) help.push({ wall: wall - baseWall, cpu: cpu - baseCpu });
    const loaded = c.label.startsWith('load ') ? `  ${packages(c.args).filter((p) => p !== 'commander').join(' ') || '(no package but commander)'}` : '';
    console.log(
      `${c.label.padEnd(34)} wall ${wall.toFixed(0).padStart(5)} ms (+${(wall - baseWall).toFixed(0).padStart(4)})  cpu ${cpu.toFixed(0).padStart(5)} ms (+${(cpu - baseCpu).toFixed(0).padStart(4)})  rss ${median(s.map((x) => x.rss)).toFixed(0)} MB${loaded}`,
    );
  }
  const helpPackages = packages([bin, '--help']).filter((p) => p !== 'commander');
  const worstCpu = Math.max(...help.map((h) => h.cpu));
  console.log(
    `summary: --help costs ${median(help.map((h) => h.wall)).toFixed(0)} ms wall and ${median(help.map((h) => h.cpu)).toFixed(0)} ms CPU above bare node (median over ${help.length} commands; ` +
      `the most CPU: +${worstCpu.toFixed(0)} ms; goal ≤ 150 ms) and loads ${helpPackages.length ? helpPackages.join(', ') : 'no package but commander'}`,
  );
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
