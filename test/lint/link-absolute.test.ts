import { describe, expect, it } from 'vitest';
import { linkAbsolute } from '../../src/render/lint/rules/link-absolute.ts';
import { edition, page } from './fixtures.ts';

describe('lint rule link-absolute', () => {
  it('wants absolute http(s) links and images, at the line of the URL', () => {
    const lines = ['x', 'Siehe [hier](/relative/page).'];
    const check = (body: string) => linkAbsolute.check(edition(page(body), { lines })) as { line?: number; message: string }[];
    expect(check('<a href="https://example.org">x</a><img src="https://e.org/a.png" alt="A">')).toEqual([]);
    expect(check('<a href="/relative/page">x</a>')).toMatchObject([{ rule: 'link-absolute', line: 2 }]);
    expect(check('<a href="mailto:x@example.org">m</a><a href="#top">t</a>')).toHaveLength(2);
    expect(check('<img src="images/a.png" alt="A">')[0]!.message).toMatch(/The image "images\/a.png"/);
  });
});
