// `npm run bench`: every benchmark in this folder, one after the other, each printing
// its figure beside the baseline it measured in the same run. Name some to run a subset:
// `npm run bench -- compile send`.
import { readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const order = ['compile', 'import', 'send'];
const wanted = process.argv.slice(2);
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => basename(f, '.ts'))
  .sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));

for (const name of available) {
  if (wanted.length > 0 && !wanted.includes(name)) continue;
  console.log(`\n== bench: ${name} ==`);
  const mod = (await import(join(here, `${name}.ts`))) as { run?: () => Promise<void> };
  if (typeof mod.run !== 'function') throw new Error(`bench/${name}.ts does not export run()`);
  await mod.run();
}
