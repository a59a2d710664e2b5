// Compile time of the sample briefing, DE and EN, warm: the whole Depesche pipeline
// (front matter, blocks, Markdown, Handlebars, MJML, plain text) against raw mjml on
// exactly the MJML that pipeline produced, with the same mjml options.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import mjml2html from 'mjml';
import { createCompiler } from '../src/render/index.ts';
import { MJML_OPTIONS } from '../src/render/mjml.ts';

const SLUG = '2026-02-22-china-ai2x';
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 30);

async function time(fn: () => Promise<unknown>, rounds: number): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < rounds; i++) await fn();
  return (performance.now() - start) / rounds;
}

export async function run(): Promise<void> {
  const compiler = createCompiler({ contentDir: resolve(fileURLToPath(import.meta.url), '../..') });
  const editions = await compiler.compile(SLUG);
  const markup = editions.map((e) => e.mjml);
  const raw = async () => {
    for (const mjml of markup) await mjml2html(mjml, { ...MJML_OPTIONS });
  };
  // Warm both paths (JIT, template cache, mjml's component registry) before measuring.
  for (let i = 0; i < 5; i++) {
    await compiler.compile(SLUG);
    await raw();
  }
  // Interleave so machine noise hits both sides alike.
  let depesche = 0;
  let baseline = 0;
  const slices = 5;
  for (let i = 0; i < slices; i++) {
    depesche += await time(() => compiler.compile(SLUG), ROUNDS / slices);
    baseline += await time(raw, ROUNDS / slices);
  }
  depesche /= slices;
  baseline /= slices;
  const bytes = editions.map((e) => `${e.lang} ${(e.htmlBytes / 1024).toFixed(1)} KB`).join(', ');
  console.log(`sample briefing DE+EN (${bytes}), ${ROUNDS} warm rounds`);
  console.log(`  depesche compile (md → hbs → mjml → html + text): ${depesche.toFixed(1)} ms per issue`);
  console.log(`  raw mjml on the same MJML (baseline):            ${baseline.toFixed(1)} ms per issue`);
  console.log(`  ratio: ${(depesche / baseline).toFixed(2)}× (aim ≤ 1.30×)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await run();
