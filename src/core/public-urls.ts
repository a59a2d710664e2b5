import type { Lang } from './lang.ts';

/**
 * The public app's URL scheme, in one place: mails link here, the public app routes
 * here, and the archive and the preview fill their merge fields from here. Tokens are
 * signed elsewhere (subscribers/tokens.ts); this module only places them.
 */
export interface PublicUrls {
  /** PUBLIC_URL without a trailing slash. */
  readonly base: string;
  home(): string;
  subscribe(lang?: Lang): string;
  confirm(token: string): string;
  unsubscribe(token: string): string;
  preferences(token: string): string;
  archive(): string;
  edition(slug: string, lang: Lang): string;
}

/** Route patterns the public app registers, matching the URLs above. */
export const PUBLIC_ROUTES = {
  home: '/',
  subscribe: '/subscribe',
  confirm: '/confirm/:token',
  unsubscribe: '/unsubscribe/:token',
  preferences: '/preferences/:token',
  archive: '/archive',
  edition: '/archive/:slug/:lang',
} as const;

export function publicUrls(publicUrl: string): PublicUrls {
  const base = publicUrl.replace(/\/+$/, '');
  return {
    base,
    home: () => `${base}/`,
    subscribe: (lang) => (lang ? `${base}/subscribe?lang=${lang}` : `${base}/subscribe`),
    confirm: (token) => `${base}/confirm/${token}`,
    unsubscribe: (token) => `${base}/unsubscribe/${token}`,
    preferences: (token) => `${base}/preferences/${token}`,
    archive: () => `${base}/archive`,
    edition: (slug, lang) => `${base}/archive/${encodeURIComponent(slug)}/${lang}`,
  };
}
