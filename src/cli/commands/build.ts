import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { displayPath } from '../../render/lint/report.ts';
import { loadConfig } from '../../config/load.ts';
import { isDepescheError } from '../../errors.ts';
import { editionFor, type EditionFallback } from '../../core/edition-fallback.ts';
import { LANGS, type Lang } from '../../core/lang.ts';
import { createCompiler, fillSample, type Compiler } from '../../render/index.ts';

export interface ContentOptions {
  dir?: string;
}

/** The compiler for the content dir of `--dir`, else CONTENT_DIR. */
export function compilerFor(options: ContentOptions): { compiler: Compiler; contentDir: string; publicUrl: string; fallback: EditionFallback } {
  const config = loadConfig();
  const contentDir = resolve(options.dir ?? config.CONTENT_DIR);
  return { compiler: createCompiler({ contentDir, publicUrl: config.PUBLIC_URL }), contentDir, publicUrl: config.PUBLIC_URL, fallback: config.EDITION_FALLBACK };
}

/** "en readers get the de edition", for an issue that lacks some languages. */
export function fallbackNote(editions: readonly Lang[], fallback: EditionFallback): string | undefined {
  const missing = LANGS.filter((lang) => !editions.includes(lang));
  if (missing.length === 0 || editions.length === 0) return undefined;
  return missing
    .map((lang) => {
      const choice = editionFor(editions, lang, fallback);
      return choice.kind === 'skip' ? `no ${lang} edition: ${lang} readers get nothing (EDITION_FALLBACK=skip)` : `no ${lang} edition: ${lang} readers get the ${choice.lang} edition (EDITION_FALLBACK=${fallback})`;
    })
    .join('; ');
}

/** The slugs named on the command line, or every issue. */
export async function selectSlugs(compiler: Compiler, slugs: string[]): Promise<string[]> {
  return slugs.length ? slugs : (await compiler.listIssues()).map((issue) => issue.slug);
}

export function kb(bytes: number): string {
  return `${(bytes / 1024).toFixed(1)} KB`;
}

/** Prints a failure and carries on: one broken issue must not stop the others. */
export function reportFailure(slug: string, error: unknown): void {
  if (isDepescheError(error)) {
    if (error.location) error.location.file = displayPath(error.location.file);
    process.stderr.write(`error: ${error.format()}\n`);
  } else {
    process.stderr.write(`error: ${slug}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
}

/** `depesche build` (options in ../registry.ts). */
export async function build(slugs: string[], options: ContentOptions & { out: string }): Promise<number> {
  const { compiler, publicUrl, fallback } = compilerFor(options);
  const out = resolve(options.out);
  let failed = 0;
  const selected = await selectSlugs(compiler, slugs);
  for (const slug of selected) {
    try {
      const editions = await compiler.compile(slug);
      await mkdir(join(out, slug), { recursive: true });
      for (const edition of editions) {
        const { html, text } = fillSample(edition, publicUrl);
        const base = join(out, slug, edition.lang);
        await Promise.all([writeFile(`${base}.html`, html), writeFile(`${base}.txt`, text), writeFile(`${base}.mjml`, edition.mjml)]);
        process.stdout.write(`${slug}/${edition.lang}.html  ${kb(Buffer.byteLength(html))}  text ${kb(Buffer.byteLength(text))}\n`);
      }
      const note = fallbackNote(editions.map((e) => e.lang), fallback);
      if (note) process.stdout.write(`${slug}: ${note}\n`);
    } catch (error) {
      failed++;
      reportFailure(slug, error);
    }
  }
  process.stdout.write(`${selected.length - failed} of ${selected.length} issue(s) built into ${out}\n`);
  return failed ? 1 : 0;
}
