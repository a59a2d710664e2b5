import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { loadTranslator } from '../../src/i18n/index.ts';
import { localeKeys } from '../../src/render/lint/rules/locale-keys.ts';
import { useScratchContent } from '../content-fixtures.ts';

describe('lint rule locale-keys', () => {
  const content = useScratchContent();

  it('reports a key missing from one locale file once, with that file', async () => {
    const localesDir = `${content.current.dir}/locales`;
    expect(localeKeys.check({ translator: await loadTranslator(localesDir), localesDir })).toEqual([]);
    const locale = JSON.parse(await readFile(`${localesDir}/en.json`, 'utf8'));
    locale.briefing.extraKey = 'only in English';
    await content.current.write('locales/en.json', JSON.stringify(locale));
    const findings = await localeKeys.check({ translator: await loadTranslator(localesDir), localesDir });
    expect(findings).toHaveLength(1);
    expect(findings[0]).toMatchObject({ severity: 'error', rule: 'locale-keys', lang: 'de' });
    expect(findings[0]!.message).toContain('briefing.extraKey');
    expect(findings[0]!.file).toMatch(/locales\/de\.json$/);
  });
});
