// `npm run bench`: every benchmark in this folder (files starting with `_` are their
// helpers), one after the other. Each measures what it compares in interleaved rounds and
// prints its figures beside the baseline it measured in the same run. Name some to run a
// subset: `npm run bench -- dkim send`.
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const order = ['compile', 'preview', 'import', 'dkim', 'smtp', 'send'];
const wanted = process.argv.slice(2);
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => basename(f, '.ts'))
  .sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
const unknown = wanted.filter((name) => !available.includes(name));
if (unknown.length > 0) {
  console.error(`No benchmark named ${unknown.join(', ')}; there are: ${available.join(', ')}.`);
  process.exit(2);
}

for (const name of available) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n== bench: ${name} ==`);
  const mod = (await import(join(here, `${name}.ts`))) as { run?: () => Promise<void> };
  if (typeof mod.run !== 'function') throw new Error(`bench/${name}.ts does not export run(); helpers start with _`);
  await mod.run();
}
// Benchmarks leave nothing running that should keep the process alive; a stray timer in a
// library must not hold up the exit.
process.exit(0);
