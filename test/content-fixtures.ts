import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { DepescheError } from '../src/errors.ts';
import { createCompiler } from '../src/render/index.ts';

export const REPO = resolve(import.meta.dirname, '..');
export const SAMPLE = '2026-02-22-china-ai2x';
export const ARTICLE = '2026-02-15-chinas-ki-zentren';

/** A scratch content dir with the repo's templates and locales, for broken-input cases. */
export async function scratchContent(): Promise<{ dir: string; write(path: string, text: string): Promise<string>; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'depesche-content-'));
  await cp(join(REPO, 'templates'), join(dir, 'templates'), { recursive: true });
  await cp(join(REPO, 'locales'), join(dir, 'locales'), { recursive: true });
  await mkdir(join(dir, 'issues'), { recursive: true });
  return {
    dir,
    async write(path, text) {
      const file = join(dir, path);
      await mkdir(join(file, '..'), { recursive: true });
      await writeFile(file, text);
      return file;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}

export type ScratchContent = Awaited<ReturnType<typeof scratchContent>>;

/** A scratch content dir for the suite it is called in: made before the tests, removed after. */
export function useScratchContent(): { readonly current: ScratchContent } {
  const holder = {} as { current: ScratchContent };
  beforeAll(async () => {
    holder.current = await scratchContent();
  });
  afterAll(() => holder.current?.cleanup());
  return holder;
}

/** The DepescheError compiling `slug` in `dir` fails with; fails the test if it compiles. */
export async function compileError(dir: string, slug: string): Promise<DepescheError> {
  const error = await createCompiler({ contentDir: dir }).compile(slug).then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DepescheError);
  return error as DepescheError;
}

export const FRONT = (lang: string, extra = '') => `---
template: briefing
title: Test Briefing ${lang}
subject: Subject ${lang}
preheader: Preheader ${lang}
date: 2026-03-01
issue: 1
${extra}---
`;

/** A small valid briefing body; `why` and links are the same in both languages. */
export const BODY = `
::: editorial signature="Ada" role="Editor"
Hello readers.
:::

::: news
## First item

Body of the first item.

+++ why
Because it matters.
+++

[Read](https://example.org/one)
:::

::: news
## Second item

Body two.

+++ why
Also matters.
+++
:::
`;
