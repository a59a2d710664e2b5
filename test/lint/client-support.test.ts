import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createCompiler } from '../../src/render/index.ts';
import { useScratchContent } from '../content-fixtures.ts';

describe('lint rule client-support (caniemail, on the templates)', () => {
  const content = useScratchContent();

  it('reports a property some clients lack at its template line, once per template, until the template accepts it', async () => {
    const compiler = createCompiler({ contentDir: content.current.dir });
    const support = async () => (await compiler.lintTemplates()).filter((f) => f.rule === 'client-support');
    // The shipped templates accept their gaps with a reason in template.json.
    expect(await support()).toEqual([]);

    const headFile = `${content.current.dir}/templates/_shared/head.hbs`;
    const head = await readFile(headFile, 'utf8');
    await content.current.write('templates/_shared/head.hbs', head.replace('p { margin: 0 0 14px 0; }', 'p { margin: 0 0 14px 0; hyphens: auto; }'));
    compiler.invalidate(headFile);
    const findings = await support();
    expect(findings.map((f) => f.message)).toEqual([
      expect.stringMatching(/^Template "article": hyphens is not supported by .*gmail/),
      expect.stringMatching(/^Template "briefing": hyphens is not supported by .*gmail/),
    ]);
    expect(findings[0]).toMatchObject({ severity: 'warning', file: headFile, line: head.split('\n').findIndex((l) => l.includes('p { margin')) + 1 });
    expect(findings[0]!.hint).toMatch(/acceptedClientGaps/);

    const manifestFile = `${content.current.dir}/templates/article/template.json`;
    const manifest = JSON.parse(await readFile(manifestFile, 'utf8'));
    manifest.acceptedClientGaps.hyphens = 'Long German words break where the client can; elsewhere they wrap whole.';
    await content.current.write('templates/article/template.json', JSON.stringify(manifest));
    compiler.invalidate(manifestFile);
    expect((await support()).map((f) => f.message)).toEqual([expect.stringMatching(/^Template "briefing": hyphens/)]);
  });

  it('reports nothing of the templates in an issue\'s own lint', async () => {
    await content.current.write('issues/x/de.md', '---\ntemplate: article\ntitle: T\nsubject: S\npreheader: P\ndate: 2026-03-01\n---\n\nText.\n');
    const findings = await createCompiler({ contentDir: content.current.dir }).lint('x');
    expect(findings.filter((f) => f.rule === 'client-support')).toEqual([]);
  });
});
