import { describe, expect, it } from 'vitest';
import { langAttr } from '../../src/render/lint/rules/lang-attr.ts';
import { edition, IMPRESSUM, page } from './fixtures.ts';

describe('lint rule lang', () => {
  const rules = (html: string) => (langAttr.check(edition(html)) as { message: string }[]).map((f) => f.message);
  it('wants lang on <html> and on a wrapper inside <body>', () => {
    expect(rules(page(''))).toEqual([]);
    expect(rules(page('', ''))).toEqual([expect.stringContaining('<html> lacks lang="de"')]);
    expect(rules(`<html lang="de"><body><div>Vorschau${IMPRESSUM}</div></body></html>`)).toEqual([expect.stringContaining('No wrapper')]);
    // The other language is not this edition's.
    expect(rules(page('', 'lang="en"'))).toHaveLength(1);
  });
});
