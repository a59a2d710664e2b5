import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fallbackNote } from '../src/cli/commands/build.ts';
import { formatFinding } from '../src/cli/commands/lint.ts';
import { BODY, FRONT, REPO, scratchContent } from './content-fixtures.ts';

const run = promisify(execFile);

async function depesche(args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [join(REPO, 'bin/depesche.js'), ...args], { cwd, env: { ...process.env, CONTENT_DIR: '' } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('depesche build and lint', () => {
  let scratch: Awaited<ReturnType<typeof scratchContent>>;
  beforeAll(async () => {
    scratch = await scratchContent();
    await scratch.write('issues/2026-03-01-good/de.md', FRONT('de') + BODY);
    await scratch.write('issues/2026-03-01-good/en.md', FRONT('en') + BODY);
    await scratch.write('issues/2026-03-02-bad/de.md', FRONT('de') + BODY + '\n::: news\n## Unclosed\n');
    await scratch.write('issues/2026-03-02-bad/en.md', FRONT('en') + BODY);
  });
  afterAll(() => scratch.cleanup());

  it('builds the good issue, names file:line of the broken one, and exits non-zero', async () => {
    const out = join(scratch.dir, 'dist');
    const result = await depesche(['build', '--dir', scratch.dir, '--out', out], scratch.dir);
    expect(result.code).toBe(1);
    const badFile = join(scratch.dir, 'issues/2026-03-02-bad/de.md');
    const line = (await readFile(badFile, 'utf8')).split('\n').lastIndexOf('::: news') + 1;
    // Paths print relative to the working directory, as an editor would type them.
    expect(result.stderr).toContain(`error: issues/2026-03-02-bad/de.md:${line}: The block "::: news" is not closed.`);
    expect(result.stdout).toMatch(/2026-03-01-good\/de\.html\s+\d+\.\d KB/);
    expect(result.stdout).toContain('1 of 2 issue(s) built');
    for (const ext of ['html', 'txt', 'mjml']) {
      for (const lang of ['de', 'en']) expect((await stat(join(out, '2026-03-01-good', `${lang}.${ext}`))).size).toBeGreaterThan(100);
    }
    const html = await readFile(join(out, '2026-03-01-good/de.html'), 'utf8');
    expect(html).not.toContain('%%depesche.');
    expect(html).toContain('http://127.0.0.1:4001/unsubscribe/preview');
  });

  it('lint exits non-zero on the broken issue and zero on the good one', async () => {
    const bad = await depesche(['lint', '--dir', scratch.dir, '2026-03-02-bad'], scratch.dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/de\.md:\d+: The block "::: news" is not closed/);
    const good = await depesche(['lint', '--dir', scratch.dir, '2026-03-01-good'], scratch.dir);
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('0 error(s)');
  });

  it('lints a German-only issue clean, and the templates once with --templates', async () => {
    await scratch.write('issues/2026-03-03-nur-deutsch/de.md', FRONT('de') + BODY);
    const lint = await depesche(['lint', '--dir', scratch.dir, '2026-03-03-nur-deutsch'], scratch.dir);
    expect(lint.code).toBe(0);
    expect(lint.stdout).toContain('0 error(s)');
    const templates = await depesche(['lint', '--templates', '--dir', scratch.dir], scratch.dir);
    expect(templates.code).toBe(0);
    expect(templates.stdout).toContain('templates article, briefing: 0 error(s), 0 warning(s)');
  });
});

describe('how the CLI words what it found', () => {
  it('prints a parity finding with both files, their lines and what to do', () => {
    const text = formatFinding({ severity: 'error', rule: 'parity', lang: 'en', file: join(REPO, 'issues/x/en.md'), line: 12, message: 'A link differs.', hint: 'Correct the one that is wrong.', related: { file: join(REPO, 'issues/x/de.md'), line: 14 } });
    expect(text).toBe('error [en] issues/x/en.md:12: A link differs. (parity)\n  ↔ issues/x/de.md:14\n  → Correct the one that is wrong.');
  });

  it('says what readers of a missing language get', () => {
    expect(fallbackNote(['de'], 'other')).toBe('no en edition: en readers get the de edition (EDITION_FALLBACK=other)');
    expect(fallbackNote(['en'], 'skip')).toBe('no de edition: de readers get nothing (EDITION_FALLBACK=skip)');
    expect(fallbackNote(['de', 'en'], 'skip')).toBeUndefined();
  });
});
