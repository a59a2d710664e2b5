import { francAll } from 'franc-min';
import type { Lang } from '../../../core/lang.ts';
import { fileName, type IssueRule } from '../rule.ts';

/** ISO 639-3 codes franc reports, and the names messages use. */
const CODES: Record<Lang, string> = { de: 'deu', en: 'eng' };
const NAMES: Record<Lang, string> = { de: 'German', en: 'English' };

/** Below this much running text the detector guesses; a short note is not worth a false alarm. */
export const MIN_DETECT_CHARS = 200;
/**
 * franc's scores flatten as text grows: on a whole article the other language still
 * scores 0.85–0.96 of the best, so no margin on one score separates them. Its ordering
 * stays right on paragraph-sized pieces, though, so each paragraph (short ones joined
 * up to MIN_DETECT_CHARS) votes, and the majority decides.
 */
const MAJORITY = 2 / 3;

/** Paragraphs (lines of the text), short ones joined with the next until long enough to judge. */
function pieces(text: string): string[] {
  const out: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    current = `${current} ${line.trim()}`.trim();
    if (current.length >= MIN_DETECT_CHARS) {
      out.push(current);
      current = '';
    }
  }
  if (current.length >= MIN_DETECT_CHARS / 2 || !out.length) out.push(current);
  else out[out.length - 1] += ` ${current}`;
  return out;
}

/** The language a text reads as, among the publication's languages; null when unsure. */
export function detectLanguage(text: string): Lang | null {
  if (text.trim().length < MIN_DETECT_CHARS) return null;
  const langs = Object.keys(CODES) as Lang[];
  const only = langs.map((l) => CODES[l]);
  const votes = new Map<Lang, number>();
  let cast = 0;
  for (const piece of pieces(text)) {
    const [best, second] = francAll(piece, { only, minLength: MIN_DETECT_CHARS / 2 });
    // 'und' (undetermined) or a tie says nothing about the piece.
    if (!best || best[0] === 'und' || (second && second[1] === best[1])) continue;
    const lang = langs.find((l) => CODES[l] === best[0]);
    if (!lang) continue;
    votes.set(lang, (votes.get(lang) ?? 0) + 1);
    cast++;
  }
  const [winner] = [...votes].sort((a, b) => b[1] - a[1]);
  return winner && winner[1] >= cast * MAJORITY ? winner[0] : null;
}
export const editionLanguage: IssueRule = {
  name: 'edition-language',
  description: 'each edition is written in its own language (a German copy saved as en.md is caught)',
  check({ docs }) {
    return docs.flatMap((doc) => {
      const text = [doc.meta.title, doc.meta.dek, doc.outline.text].filter(Boolean).join('\n');
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
