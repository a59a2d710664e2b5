import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createCompiler } from '../../src/render/index.ts';
import { useScratchContent } from '../content-fixtures.ts';

describe('lint rule locale-keys', () => {
  const content = useScratchContent();

  it('reports a key missing from one locale file once, with that file', async () => {
    const locale = JSON.parse(await readFile(`${content.current.dir}/locales/en.json`, 'utf8'));
    locale.briefing.extraKey = 'only in English';
    await content.current.write('locales/en.json', JSON.stringify(locale));
    const findings = (await createCompiler({ contentDir: content.current.dir }).lintTemplates()).filter((f) => f.rule === 'locale-keys');
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'error', lang: 'de' });
    expect(findings[0]!.message).toContain('briefing.extraKey');
    expect(findings[0]!.file).toMatch(/locales\/de\.json$/);
  });
});
