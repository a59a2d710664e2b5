// Compile time of the sample briefing, DE and EN, warm: the whole Depesche pipeline
// (read files, front matter, blocks, Markdown, Handlebars, MJML, plain text) against raw
// mjml on exactly the MJML that pipeline produced, with the same mjml options. "Warm"
// reuses the cached templates and, the files being unchanged, their parsed model;
// "after an edit" rewrites the German file before each round, so it is reparsed.
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mjml2html from 'mjml';
import { createCompiler } from '../src/render/index.ts';
import { MJML_OPTIONS } from '../src/render/mjml.ts';

const SLUG = '2026-02-22-china-ai2x';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);

async function once(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** Median: other processes on the machine add spikes that a mean would fold in. */
function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function run(): Promise<void> {
  const root = resolve(fileURLToPath(import.meta.url), '../..');
  const compiler = createCompiler({ contentDir: root });
  const editions = await compiler.compile(SLUG);
  const markup = editions.map((e) => e.mjml);
  const raw = async () => {
    for (const mjml of markup) await mjml2html(mjml, { ...MJML_OPTIONS });
  };
  // "after an edit": the German file changes on disk before every compile, as when the
  // preview recompiles after a save; it is read, parsed and its text rendered again.
  const scratch = await mkdtemp(join(tmpdir(), 'depesche-bench-'));
  for (const dir of ['templates', 'locales', `issues/${SLUG}`]) await cp(join(root, dir), join(scratch, dir), { recursive: true });
  const editor = createCompiler({ contentDir: scratch });
  const germanFile = join(scratch, 'issues', SLUG, 'de.md');
  const german = await readFile(germanFile, 'utf8');
  let edits = 0;
  const edited = async () => {
    await writeFile(germanFile, german + '\n'.repeat(++edits % 2));
    editor.invalidate(germanFile);
    return editor.compile(SLUG);
  };
  // Warm every path (JIT, template cache, mjml's component registry) before measuring.
  for (let i = 0; i < 5; i++) {
    await compiler.compile(SLUG);
    await edited();
    await raw();
  }
  // Interleave so machine noise hits all three alike.
  const samples = { warm: [] as number[], edited: [] as number[], raw: [] as number[] };
  for (let i = 0; i < ROUNDS; i++) {
    samples.warm.push(await once(() => compiler.compile(SLUG)));
    samples.edited.push(await once(edited));
    samples.raw.push(await once(raw));
  }
  const depesche = median(samples.warm);
  const afterEdit = median(samples.edited);
  const baseline = median(samples.raw);
  await rm(scratch, { recursive: true, force: true });
  const bytes = editions.map((e) => `${e.lang} ${(e.htmlBytes / 1024).toFixed(1)} KB`).join(', ');
  console.log(`sample briefing DE+EN (${bytes}), median of ${ROUNDS} warm rounds`);
  console.log(`  depesche compile (md → hbs → mjml → html + text): ${depesche.toFixed(1)} ms per issue`);
  console.log(`  depesche compile after editing de.md:            ${afterEdit.toFixed(1)} ms per issue`);
  console.log(`  raw mjml on the same MJML (baseline):            ${baseline.toFixed(1)} ms per issue`);
  console.log(`  ratio warm: ${(depesche / baseline).toFixed(2)}× (aim ≤ 1.30×), after an edit: ${(afterEdit / baseline).toFixed(2)}×`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
