import { describe, expect, it } from 'vitest';
import { imgAlt } from '../../src/render/lint/rules/img-alt.ts';
import { edition, page } from './fixtures.ts';

describe('lint rule img-alt', () => {
  it('wants alt text on every image, at the line of its URL', () => {
    const lines = ['---', 'title: x', '---', '', '![](https://e.org/b.png)'];
    const findings = imgAlt.check(edition(page('<img src="https://e.org/a.png" alt="Ein Bild"><img src="https://e.org/b.png" alt=""><img src="https://e.org/c.png">'), { lines })) as { line?: number; message: string }[];
    expect(findings.map((f) => f.message)).toEqual([expect.stringContaining('https://e.org/b.png'), expect.stringContaining('https://e.org/c.png')]);
    expect(findings[0]!.line).toBe(5);
    expect(findings[1]!.line).toBeUndefined();
  });
});
