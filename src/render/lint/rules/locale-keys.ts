import { localeFile } from '../../../i18n/index.ts';
import { LANGS, type Lang } from '../../../core/lang.ts';
import type { Finding } from '../finding.ts';
import type { Translator } from '../../../i18n/index.ts';
import type { SharedRule } from '../rule.ts';

function flatKeys(value: unknown, prefix = '', out = new Set<string>()): Set<string> {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) flatKeys(child, prefix ? `${prefix}.${key}` : key, out);
  } else {
    out.add(prefix);
  }
  return out;
}

/** Both locale files hold the same keys. */
export function lintLocales(translator: Translator, localesDir: string): Finding[] {
  const keys = Object.fromEntries(LANGS.map((lang) => [lang, flatKeys(translator.resources(lang))])) as Record<Lang, Set<string>>;
  const findings: Finding[] = [];
  for (const lang of LANGS) {
    for (const other of LANGS) {
      if (other === lang) continue;
      for (const key of keys[other]) {
        if (!keys[lang].has(key)) {
          findings.push({ severity: 'error', rule: 'locale-keys', message: `The key "${key}" is in ${other}.json but not in ${lang}.json.`, hint: `Add it to ${lang}.json, translated.`, file: localeFile(localesDir, lang), lang });
        }
      }
    }
  }
  return findings;
}

export const localeKeys: SharedRule = {
  name: 'locale-keys',
  description: 'locales/de.json and locales/en.json have the same keys',
  check: ({ translator, localesDir }) => lintLocales(translator, localesDir),
};
