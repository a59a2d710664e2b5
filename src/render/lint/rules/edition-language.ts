import { francAll } from 'franc-min';
import type { Lang } from '../../../core/lang.ts';
import { fileName, type IssueRule } from '../rule.ts';

/** ISO 639-3 codes franc reports, and the names messages use. */
const CODES: Record<Lang, string> = { de: 'deu', en: 'eng' };
const NAMES: Record<Lang, string> = { de: 'German', en: 'English' };

/** Below this much running text the detector guesses; a short note is not worth a false alarm. */
export const MIN_DETECT_CHARS = 200;
/** The other language must lead by this margin (franc scores the best at 1). */
const MARGIN = 0.9;

/** The language a text reads as, among the publication's languages; null when unsure. */
export function detectLanguage(text: string): Lang | null {
  if (text.length < MIN_DETECT_CHARS) return null;
  const langs = Object.keys(CODES) as Lang[];
  const scores = new Map(francAll(text, { only: langs.map((l) => CODES[l]), minLength: MIN_DETECT_CHARS }));
  const [best, second] = langs.map((lang) => ({ lang, score: scores.get(CODES[lang]) ?? 0 })).sort((a, b) => b.score - a.score);
  if (!best || best.score === 0) return null;
  return !second || second.score < MARGIN ? best.lang : null;
}

export const editionLanguage: IssueRule = {
  name: 'edition-language',
  description: 'each edition is written in its own language (a German copy saved as en.md is caught)',
  check({ docs }) {
    return docs.flatMap((doc) => {
      const text = [doc.meta.title, doc.meta.dek, doc.outline.text].filter(Boolean).join(' ');
      const detected = detectLanguage(text);
      if (!detected || detected === doc.lang) return [];
      return [
        {
          severity: 'error' as const,
          rule: 'edition-language',
          file: doc.file,
          line: doc.outline.sections[0]?.line ?? 1,
          lang: doc.lang,
          message: `${fileName(doc.file)} reads as ${NAMES[detected]}, but it is the ${NAMES[doc.lang]} edition: its readers would get ${NAMES[detected]} text under ${NAMES[doc.lang]} labels.`,
          hint: `Write the ${NAMES[doc.lang]} text, or delete ${fileName(doc.file)} to send the ${NAMES[detected]} edition alone (readers of ${NAMES[doc.lang]} then get what EDITION_FALLBACK says).`,
        },
      ];
    });
  },
};
