import { describe, expect, it } from 'vitest';
import { impressum } from '../../src/render/lint/rules/impressum.ts';
import { edition, page } from './fixtures.ts';

describe('lint rule impressum', () => {
  it('wants an Impressum of some substance in the footer', () => {
    expect(impressum.check(edition(page('')))).toEqual([]);
    const empty = page('').replace(/<div class="impressum">.*?<\/div>/, '<div class="impressum"><p>Impressum</p></div>');
    expect(impressum.check(edition(empty))).toMatchObject([{ severity: 'error', rule: 'impressum' }]);
  });
});
