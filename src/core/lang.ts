/**
 * The languages a publication writes in. Content, rendering, i18n, subscribers and the
 * send all speak of them, so they live below every one of those rooms.
 */
export const LANGS = ['de', 'en'] as const;
export type Lang = (typeof LANGS)[number];

export function isLang(value: unknown): value is Lang {
  return typeof value === 'string' && (LANGS as readonly string[]).includes(value);
}
