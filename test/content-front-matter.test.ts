import { describe, expect, it } from 'vitest';
import { parseFrontMatter } from '../src/content/front-matter.ts';
import { DepescheError } from '../src/errors.ts';

const valid = `---
template: briefing
title: T
subject: S
preheader: P
date: 2026-02-22
issue: 3
---

First body line
`;

function errorOf(source: string): DepescheError {
  try {
    parseFrontMatter(source, 'issue.md');
  } catch (error) {
    if (error instanceof DepescheError) return error;
    throw error;
  }
  throw new Error('expected an error');
}

describe('front matter', () => {
  it('validates fields and normalises the date', () => {
    const parsed = parseFrontMatter(valid, 'issue.md');
    expect(parsed.meta).toMatchObject({ template: 'briefing', title: 'T', date: '2026-02-22', issue: 3, tagline: '' });
    // Body line n is file line bodyOffset + n (1-based): "First body line" is line 10.
    const lines = parsed.body.split('\n');
    expect(parsed.bodyOffset + lines.indexOf('First body line') + 1).toBe(10);
    expect(parsed.metaLine('date')).toBe(6);
  });

  it('reports malformed YAML at its line', () => {
    const error = errorOf(`---\ntemplate: briefing\ntitle: T\n  subject: broken indent\n---\n`);
    expect(error.code).toBe('E_CONTENT');
    expect(error.location).toEqual({ file: 'issue.md', line: 4 });
    expect(error.message).toMatch(/not valid YAML/);
    expect(error.hint).toBeTruthy();
  });

  it('reports a missing required field and says how to add it', () => {
    const error = errorOf(valid.replace('subject: S\n', ''));
    expect(error.message).toBe('The front matter field "subject" is missing.');
    expect(error.location?.line).toBe(1);
    expect(error.hint).toMatch(/subject: …/);
  });

  it('names a misspelt field at its line before the field it hides', () => {
    const error = errorOf(valid.replace('preheader: P', 'preheder: P'));
    expect(error.message).toMatch(/Unknown front matter field "preheder"/);
    expect(error.location?.line).toBe(5);
  });

  it('rejects a malformed date at its line', () => {
    const error = errorOf(valid.replace('date: 2026-02-22', 'date: 22.02.2026'));
    expect(error.message).toMatch(/"date" must be a date written YYYY-MM-DD/);
    expect(error.location?.line).toBe(6);
  });

  it('asks for front matter when a file has none', () => {
    const error = errorOf('Just text\n');
    expect(error.location?.line).toBe(1);
    expect(error.hint).toMatch(/between two --- lines/);
  });
});
