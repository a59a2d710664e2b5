import { describe, expect, it } from 'vitest';
import type { Finding } from '../../src/render/lint/finding.ts';
import { size } from '../../src/render/lint/rules/size.ts';
import { edition, page } from './fixtures.ts';

describe('lint rule size', () => {
  it('passes a small mail, warns from 80 KB and fails from 100 KB', () => {
    expect(size.check(edition(page('<p>kurz</p>')))).toEqual([]);
    expect(size.check(edition(page('x'.repeat(85 * 1024))))).toMatchObject([{ severity: 'warning', rule: 'size' }]);
    const [error] = size.check(edition(page('x'.repeat(101 * 1024)))) as Finding[];
    expect(error).toMatchObject({ severity: 'error', rule: 'size', file: 'issues/fixture/de.md', lang: 'de' });
    expect(error!.message).toMatch(/unsubscribe link/);
  });
});
