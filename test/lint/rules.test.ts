import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ALL_RULES } from '../../src/render/lint/index.ts';

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
