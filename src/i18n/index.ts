import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import i18next, { type i18n } from 'i18next';
import { DepescheError } from '../errors.ts';
import { LANGS, type Lang } from '../core/lang.ts';

/**
 * Labels and page texts in both languages, from `locales/<lang>.json` through i18next.
 * One instance serves templates, public pages and system mails alike.
 */
export interface Translator {
  readonly langs: readonly Lang[];
  t(lang: Lang, key: string, vars?: Record<string, unknown>): string;
  /** Whether `key` exists in `lang`; templates use it to fail loudly on typos. */
  has(lang: Lang, key: string): boolean;
  /** The raw resource tree of one language, for parity checks. */
  resources(lang: Lang): Record<string, unknown>;
}

export function localeFile(localesDir: string, lang: Lang): string {
  return join(localesDir, `${lang}.json`);
}

async function readLocale(localesDir: string, lang: Lang): Promise<Record<string, unknown>> {
  const file = localeFile(localesDir, lang);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new DepescheError('E_CONTENT', `The locale file for "${lang}" is missing.`, {
      location: { file },
      hint: `Create ${file} with the same keys as the other locale files.`,
      cause,
    });
  }
  try {
    return JSON.parse(text) as Record<string, unknown>;
  } catch (cause) {
    const position = /position (\d+)/.exec(String((cause as Error).message));
    const line = position ? text.slice(0, Number(position[1])).split('\n').length : undefined;
    throw new DepescheError('E_CONTENT', `The locale file is not valid JSON: ${(cause as Error).message}`, {
      location: { file, ...(line ? { line } : {}) },
      hint: 'Fix the JSON syntax (a missing comma or quote is the usual cause).',
      cause,
    });
  }
}

export async function loadTranslator(localesDir: string): Promise<Translator> {
  const resources: Record<string, { translation: Record<string, unknown> }> = {};
  for (const lang of LANGS) resources[lang] = { translation: await readLocale(localesDir, lang) };
  const instance: i18n = i18next.createInstance();
  await instance.init({
    resources,
    lng: 'de',
    fallbackLng: false,
    // Handlebars and the merge step escape; i18next must not escape a second time.
    interpolation: { escapeValue: false },
    returnNull: false,
    showSupportNotice: false,
  } as Parameters<i18n['init']>[0]);
  const fixed = Object.fromEntries(LANGS.map((lang) => [lang, instance.getFixedT(lang)])) as Record<Lang, i18n['t']>;
  return {
    langs: LANGS,
    t: (lang, key, vars) => String(fixed[lang](key, vars ?? {})),
    has: (lang, key) => instance.exists(key, { lng: lang }),
    resources: (lang) => resources[lang]!.translation,
  };
}
