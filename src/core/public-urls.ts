import type { Lang } from './lang.ts';

/**
 * The public app's URL scheme, in one place: mails link here, the public app routes
 * here, the archive and the preview fill their merge fields from here, and the loggers
 * redact the tokens these URLs carry. Tokens are signed elsewhere (subscribers/tokens.ts);
 * this module only places them.
 */
export interface PublicUrls {
  /** PUBLIC_URL without a trailing slash. */
  readonly base: string;
  /** The sign-up page. */
  home(lang?: Lang): string;
  subscribe(lang?: Lang): string;
  confirm(token: string): string;
  unsubscribe(token: string): string;
  preferences(token: string): string;
  archive(lang?: Lang): string;
  edition(slug: string, lang: Lang): string;
  /** The Atom feed of one language's archive. */
  feed(lang: Lang): string;
  impressum(lang?: Lang): string;
  privacy(lang?: Lang): string;
  /**
   * Where the unsubscribe and preferences links of a page anyone may open (an archived
   * edition) lead: a page pointing readers to the personal link in their own mail.
   */
  withoutToken(action: 'unsubscribe' | 'preferences', lang: Lang): string;
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
  impressum: '/impressum',
  privacy: '/privacy',
  healthz: '/healthz',
  unsubscribeWithoutToken: '/unsubscribe',
  preferencesWithoutToken: '/preferences',
} as const;

/** The feed's path for one language (a static route per language, beside `/archive/:slug/:lang`). */
export const feedPath = (lang: Lang): string => `/archive/${lang}.atom`;

const withLang = (path: string, lang?: Lang) => (lang ? `${path}?lang=${lang}` : path);

/** The same scheme as paths, for links and form actions within the public app's own pages. */
export const publicPaths = (): PublicUrls => publicUrls('');

export function publicUrls(publicUrl: string): PublicUrls {
  const base = publicUrl.replace(/\/+$/, '');
  return {
    base,
    home: (lang) => `${base}${withLang('/', lang)}`,
    subscribe: (lang) => `${base}${withLang('/subscribe', lang)}`,
    confirm: (token) => `${base}/confirm/${token}`,
    unsubscribe: (token) => `${base}/unsubscribe/${token}`,
    preferences: (token) => `${base}/preferences/${token}`,
    archive: (lang) => `${base}${withLang('/archive', lang)}`,
    edition: (slug, lang) => `${base}/archive/${encodeURIComponent(slug)}/${lang}`,
    feed: (lang) => `${base}${feedPath(lang)}`,
    impressum: (lang) => `${base}${withLang('/impressum', lang)}`,
    privacy: (lang) => `${base}${withLang('/privacy', lang)}`,
    withoutToken: (action, lang) => `${base}${withLang(`/${action}`, lang)}`,
  };
}

// The path segment after these holds a subscriber's key; `token=` in a query is the admin's.
const TOKEN_PATH = /\/(confirm|unsubscribe|preferences)\/[^/?#]+/g;
const TOKEN_QUERY = /([?&](?:token|next)=)[^&#]*/gi;
const ENCODED_TOKEN = /(token(?:%3D|=))[^&#%]*/gi;

/**
 * A URL or path as it may be logged: the route stays, the tokens go. Confirm, unsubscribe
 * and preferences tokens open a reader's subscription; an admin `token=` opens the admin
 * app; `next=` may carry either.
 */
export function redactUrl(url: string): string {
  return url.replace(TOKEN_PATH, '/$1/[token]').replace(TOKEN_QUERY, '$1[redacted]').replace(ENCODED_TOKEN, '$1[redacted]');
}
