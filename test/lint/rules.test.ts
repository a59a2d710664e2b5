import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_RULES } from '../../src/render/lint/index.ts';
import { createCompiler } from '../../src/render/index.ts';
import { REPO } from '../content-fixtures.ts';

const FILES: Record<string, string> = { lang: 'lang-attr', content: 'content-notes' };

describe('lint rules', () => {
  it('each have a fixture test of their own, a unique name and a description', () => {
    const names = ALL_RULES.map((rule) => rule.name);
    expect(new Set(names).size).toBe(names.length);
    for (const rule of ALL_RULES) {
      expect(existsSync(join(import.meta.dirname, `${FILES[rule.name] ?? rule.name}.test.ts`)), `test/lint/${rule.name}.test.ts`).toBe(true);
      expect(existsSync(join(import.meta.dirname, '../../src/render/lint/rules', `${FILES[rule.name] ?? rule.name}.ts`)), `src/render/lint/rules/${rule.name}.ts`).toBe(true);
      expect(rule.description.length).toBeGreaterThan(20);
    }
  });
});

describe('the sample issues', () => {
  it('lint without errors, and the German-only one with only its table warnings', async () => {
    const compiler = createCompiler({ contentDir: REPO });
    for (const { slug } of await compiler.listIssues()) {
      const findings = await compiler.lint(slug);
      expect(findings.filter((f) => f.severity === 'error'), slug).toEqual([]);
      if (slug === '2026-02-18-chinas-ki-landkarte') expect(new Set(findings.map((f) => f.rule))).toEqual(new Set(['table-width']));
    }
  });
});
