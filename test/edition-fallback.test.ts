import { describe, expect, it } from 'vitest';
import { describePlan, editionFor, planEditions } from '../src/core/edition-fallback.ts';
import { loadConfig } from '../src/config/index.ts';

describe('editionFor: which edition a reader gets', () => {
  it('gives every reader their own language when the issue has it', () => {
    expect(editionFor(['de', 'en'], 'en', 'skip')).toEqual({ kind: 'own', lang: 'en' });
    expect(editionFor(['de'], 'de', 'other')).toEqual({ kind: 'own', lang: 'de' });
  });

  it('with "other", sends a German-only issue to English readers as the German edition', () => {
    expect(editionFor(['de'], 'en', 'other')).toEqual({ kind: 'fallback', lang: 'de' });
    expect(editionFor(['en'], 'de', 'other')).toEqual({ kind: 'fallback', lang: 'en' });
  });

  it('with "skip", sends them nothing, with the reason to count', () => {
    expect(editionFor(['de'], 'en', 'skip')).toEqual({ kind: 'skip', reason: 'no-edition-in-language' });
  });

  it('refuses an issue without editions', () => {
    expect(() => editionFor([], 'de', 'other')).toThrow(RangeError);
  });
});

describe('planEditions: the counts a dry run shows', () => {
  const readers = { de: 1830, en: 1204 };
  it('counts fallbacks into the edition they get', () => {
    expect(planEditions(['de'], readers, 'other')).toEqual({ byEdition: { de: 3034 }, fallback: { en: 1204 }, skipped: {}, total: 3034 });
  });
  it('counts skipped readers by their language', () => {
    expect(planEditions(['de'], readers, 'skip')).toEqual({ byEdition: { de: 1830 }, fallback: {}, skipped: { en: 1204 }, total: 1830 });
  });
  it('says the plan in one line per reader language', () => {
    expect(describePlan(['de'], readers, 'other')).toBe('de 1830 · en 1204 (get de)');
    expect(describePlan(['de'], readers, 'skip')).toBe('de 1830 · en 1204 (skipped: no edition in their language)');
    expect(describePlan(['de', 'en'], { de: 5, en: 0 }, 'skip')).toBe('de 5');
    expect(describePlan(['en'], {}, 'other')).toBe('nobody');
  });
  it('needs no fallback when both editions exist', () => {
    expect(planEditions(['de', 'en'], readers, 'skip')).toEqual({ byEdition: readers, fallback: {}, skipped: {}, total: 3034 });
  });
});

describe('EDITION_FALLBACK', () => {
  it('defaults to other, takes skip, and names itself when wrong', () => {
    expect(loadConfig({ env: {} }).EDITION_FALLBACK).toBe('other');
    expect(loadConfig({ env: { EDITION_FALLBACK: 'skip' } }).EDITION_FALLBACK).toBe('skip');
    expect(() => loadConfig({ env: { EDITION_FALLBACK: 'english' } })).toThrow(/EDITION_FALLBACK: must be one of: other, skip/);
  });
});
