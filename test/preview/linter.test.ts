import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCompiler } from '../../src/render/index.ts';
import { workerLinter } from '../../src/server/preview/linter.ts';
import { copyContent, type ContentCopy } from './content.ts';

let content: ContentCopy;

beforeAll(async () => {
  content = await copyContent();
});

afterAll(async () => {
  await content?.remove();
});

describe('workerLinter', () => {
  it('finds on its thread what the compiler finds in-process, and falls back once the thread is gone', async () => {
    const compiler = createCompiler({ contentDir: content.dir });
    const [issue] = await compiler.listIssues();
    const linter = workerLinter({ contentDir: content.dir, publicUrl: 'http://127.0.0.1:4001' }, async () => [{ severity: 'warning', rule: 'fallback', message: 'in-process' }]);
    try {
      const [threaded, direct] = await Promise.all([linter.lint(issue!.slug), compiler.lint(issue!.slug)]);
      expect(threaded).toEqual(direct);
      expect(await linter.lint('no-such-issue')).toEqual(await compiler.lint('no-such-issue'));
    } finally {
      await linter.close();
    }
    expect(await linter.lint(issue!.slug)).toEqual([{ severity: 'warning', rule: 'fallback', message: 'in-process' }]);
  });
});
