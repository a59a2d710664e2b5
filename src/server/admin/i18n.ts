import { readFileSync } from 'node:fs';
import i18next, { type i18n } from 'i18next';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isLang, LANGS, type Lang } from '../../core/lang.ts';

/**
 * The console's labels: the `admin` keys of the package's own `locales/*.json`. They are
 * read from the package, not from CONTENT_DIR, because they belong to the tool, not to a
 * publication; loaded once and synchronously, so every page can call `t` at once.
 */
const instance: i18n = i18next.createInstance();
void instance.init({
  resources: Object.fromEntries(
    LANGS.map((lang) => [lang, { translation: JSON.parse(readFileSync(new URL(`../../../locales/${lang}.json`, import.meta.url), 'utf8')) as object }]),
  ),
  lng: 'en',
  fallbackLng: 'en',
  initAsync: false,
  // The html tag escapes what pages interpolate; i18next must not escape twice.
  interpolation: { escapeValue: false },
  returnNull: false,
  showSupportNotice: false,
} as Parameters<i18n['init']>[0]);

const fixed = Object.fromEntries(LANGS.map((lang) => [lang, instance.getFixedT(lang)])) as Record<Lang, i18n['t']>;

/** `t(lang, 'admin.nav.campaigns')`; with `count`, i18next picks the `_one` / `_other` form. */
export function t(lang: Lang, key: string, vars?: Record<string, unknown>): string {
  return String(fixed[lang](key, vars ?? {}));
}

/** The admin labels of one language, for page scripts that render in the browser. */
export function labels(lang: Lang, section: string): Record<string, unknown> {
  return (instance.getResource(lang, 'translation', `admin.${section}`) as Record<string, unknown> | undefined) ?? {};
}

export const LANG_COOKIE = 'depesche_admin_lang';

/**
 * The language of a console page: `?lang=` (remembered in a cookie), then the cookie,
 * then the browser's Accept-Language, then English.
 */
export function adminLang(request: FastifyRequest, reply?: FastifyReply): Lang {
  const query = (request.query as Record<string, unknown> | undefined)?.lang;
  if (isLang(query)) {
    reply?.header('set-cookie', `${LANG_COOKIE}=${query}; Path=/; SameSite=Lax; Max-Age=31536000`);
    return query;
  }
  const cookie = /(?:^|;\s*)depesche_admin_lang=(de|en)\b/.exec(request.headers.cookie ?? '');
  if (cookie && isLang(cookie[1])) return cookie[1];
  for (const part of (request.headers['accept-language'] ?? '').split(',')) {
    const tag = part.split(';')[0]!.trim().slice(0, 2).toLowerCase();
    if (isLang(tag)) return tag;
  }
  return 'en';
}

/** Dates and numbers in the console follow its language. */
export function locale(lang: Lang): string {
  return lang === 'de' ? 'de-DE' : 'en-GB';
}
