import { LANGS, type Lang } from './lang.ts';

/**
 * What a reader gets when an issue has no edition in their language
 * (`EDITION_FALLBACK`):
 * - `other`: another edition, sent as what it is (its own `lang` and Content-Language);
 * - `skip`: nothing; the reader is counted as "skipped: no edition in their language".
 */
export const EDITION_FALLBACKS = ['other', 'skip'] as const;
export type EditionFallback = (typeof EDITION_FALLBACKS)[number];

/** Which edition one reader gets, and why. */
export type EditionChoice =
  /** The edition in the reader's own language. */
  | { kind: 'own'; lang: Lang }
  /** Another language's edition, because theirs is missing and the policy is `other`. */
  | { kind: 'fallback'; lang: Lang }
  /** No mail: their edition is missing and the policy is `skip`. */
  | { kind: 'skip'; reason: 'no-edition-in-language' };

/**
 * Decides which edition a reader gets. `available` lists the editions; with
 * several other editions to fall back on, the first in `LANGS` order (the publication's
 * first language) wins, so every reader of one language gets the same one.
 *
 * @throws RangeError when `available` is empty: an issue without editions is not sendable.
 */
export function editionFor(available: readonly Lang[], readerLang: Lang, fallback: EditionFallback): EditionChoice {
  if (available.length === 0) throw new RangeError('editionFor: the issue has no editions');
  if (available.includes(readerLang)) return { kind: 'own', lang: readerLang };
  if (fallback === 'skip') return { kind: 'skip', reason: 'no-edition-in-language' };
  const lang = LANGS.find((l) => available.includes(l)) ?? available[0]!;
  return { kind: 'fallback', lang };
}

/** Readers per outcome for a send, as `send --dry-run`, the admin page and `status` show it. */
export interface EditionPlan {
  /** Readers who get each edition, their own language and fallbacks together. */
  byEdition: Partial<Record<Lang, number>>;
  /** Of those, readers who get an edition that is not in their language, by their language. */
  fallback: Partial<Record<Lang, number>>;
  /** Readers who get nothing, by their language ("skipped: no edition in their language"). */
  skipped: Partial<Record<Lang, number>>;
  /** Everyone who gets a mail. */
  total: number;
}

/** Applies `editionFor` to a count of readers per language. */
export function planEditions(available: readonly Lang[], readers: Partial<Record<Lang, number>>, fallback: EditionFallback): EditionPlan {
  const plan: EditionPlan = { byEdition: {}, fallback: {}, skipped: {}, total: 0 };
  for (const lang of LANGS) {
    const count = readers[lang] ?? 0;
    if (count === 0) continue;
    const choice = editionFor(available, lang, fallback);
    if (choice.kind === 'skip') {
      plan.skipped[lang] = count;
      continue;
    }
    plan.byEdition[choice.lang] = (plan.byEdition[choice.lang] ?? 0) + count;
    if (choice.kind === 'fallback') plan.fallback[lang] = count;
    plan.total += count;
  }
  return plan;
}

/**
 * The plan in one line, per reader language: `de 120 · en 80 (get de)`, or with `skip`
 * `de 120 · en 80 (skipped: no edition in their language)`.
 */
export function describePlan(available: readonly Lang[], readers: Partial<Record<Lang, number>>, fallback: EditionFallback): string {
  const parts: string[] = [];
  for (const lang of LANGS) {
    const count = readers[lang] ?? 0;
    if (count === 0) continue;
    const choice = editionFor(available, lang, fallback);
    parts.push(choice.kind === 'own' ? `${lang} ${count}` : choice.kind === 'fallback' ? `${lang} ${count} (get ${choice.lang})` : `${lang} ${count} (skipped: no edition in their language)`);
  }
  return parts.length > 0 ? parts.join(' · ') : 'nobody';
}
