import type { Lang } from '../core/lang.ts';

/** BCP 47 locale for Intl per edition language. */
export const LOCALES: Record<Lang, string> = { de: 'de-DE', en: 'en-GB' };

const dateFormats = new Map<Lang, Intl.DateTimeFormat>();
const numberFormats = new Map<Lang, Intl.NumberFormat>();

/** 2026-02-22 → "22. Februar 2026" / "22 February 2026". */
export function formatDate(iso: string, lang: Lang): string {
  let format = dateFormats.get(lang);
  if (!format) {
    format = new Intl.DateTimeFormat(LOCALES[lang], { dateStyle: 'long', timeZone: 'UTC' });
    dateFormats.set(lang, format);
  }
  const time = Date.parse(`${iso}T00:00:00Z`);
  return Number.isNaN(time) ? iso : format.format(time);
}

/** A bare number ("6000", "1.5") is written the language's way; anything else stays as the editor wrote it. */
export function formatFigure(value: string, lang: Lang): string {
  if (!/^-?\d+(\.\d+)?$/.test(value.trim())) return value;
  let format = numberFormats.get(lang);
  if (!format) {
    format = new Intl.NumberFormat(LOCALES[lang], { maximumFractionDigits: 2 });
    numberFormats.set(lang, format);
  }
  return format.format(Number(value));
}
