import { describe, expect, it } from 'vitest';
import { preheader } from '../../src/render/lint/rules/preheader.ts';
import { edition, page } from './fixtures.ts';

describe('lint rule preheader', () => {
  it('wants the preheader in the mail, pointing at its front matter line', () => {
    expect(preheader.check(edition(page('')))).toEqual([]);
    expect(preheader.check(edition(page('').replace('Vorschau', '')))).toMatchObject([{ rule: 'preheader', line: 5 }]);
    expect(preheader.check(edition(page(''), { preheader: '  ' }))).toHaveLength(1);
  });
});
