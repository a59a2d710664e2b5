import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadTranslator } from '../src/i18n/index.ts';
import { lintLocales } from '../src/render/lint/rules/locale-keys.ts';
import { LANGS } from '../src/core/lang.ts';
import { REPO } from './content-fixtures.ts';

describe('locales', () => {
  it('de.json and en.json have the same keys', async () => {
    const dir = join(REPO, 'locales');
    expect(lintLocales(await loadTranslator(dir), dir)).toEqual([]);
  });

  it('has every label the templates use, distinct per language', async () => {
    const t = await loadTranslator(join(REPO, 'locales'));
    for (const key of ['briefing.parts.editorial', 'briefing.parts.policy', 'briefing.whyItMatters', 'briefing.whatItIsAbout', 'footer.impressum', 'footer.unsubscribe', 'common.greeting.named']) {
      for (const lang of LANGS) expect(t.has(lang, key), `${lang} ${key}`).toBe(true);
      expect(t.t('de', key)).not.toBe(t.t('en', key));
    }
    expect(t.t('de', 'briefing.issueNumber', { number: 12 })).toBe('Ausgabe 12');
    expect(t.t('en', 'common.greeting.named')).toContain('{name}');
  });
});
