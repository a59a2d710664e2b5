/**
 * Dark-mode emulation for the preview frame.
 *
 * A page cannot make the browser report `prefers-color-scheme: dark` to one iframe, so the
 * preview rewrites the mail instead, the way a client set to dark would evaluate it: each
 * media query that asks for `dark` becomes always true, each that asks for `light` becomes
 * never true, and a mail that declares dark support (`color-scheme` meta or CSS) gets
 * `color-scheme: dark` on its root, so the browser's own defaults (canvas, text, form
 * controls) turn dark as well. This is what Apple Mail, iOS Mail, Outlook for Mac and
 * Thunderbird do; clients that invert colours on their own (Gmail apps, Outlook.com) are
 * not emulated.
 */
export interface DarkModeResult {
  html: string;
  /** Media queries that were switched. Zero means the mail has no dark styles of its own. */
  rewrittenQueries: number;
  /** The mail says it supports a dark scheme (`color-scheme: light dark` or the meta tag). */
  declaresDark: boolean;
}

const ALWAYS = '(min-width: 0px)';
const NEVER = '(max-width: 0px) and (min-width: 1px)';
const stylePattern = /(<style\b[^>]*>)([\s\S]*?)(<\/style>)/gi;
const mediaPattern = /@media([^{;]*)\{/gi;
const schemeFeature = /\(\s*prefers-color-scheme\s*:\s*(dark|light)\s*\)/gi;
const colorSchemeMeta = /<meta\b[^>]*name\s*=\s*["']?(?:supported-)?color-scheme["']?[^>]*>/gi;
const colorSchemeCss = /(?<![\w-])color-scheme\s*:\s*[^;}"']*\bdark\b/i;

export function emulateDarkMode(html: string): DarkModeResult {
  let rewrittenQueries = 0;
  let declaresDark = [...html.matchAll(colorSchemeMeta)].some((m) => /content\s*=\s*["']?[^"'>]*\bdark\b/i.test(m[0]));
  const rewritten = html.replace(stylePattern, (_all, open: string, css: string, close: string) => {
    if (colorSchemeCss.test(css)) declaresDark = true;
    const body = css.replace(mediaPattern, (rule, prelude: string) => {
      if (!/prefers-color-scheme/i.test(prelude)) return rule;
      rewrittenQueries++;
      return `@media${prelude.replace(schemeFeature, (_m, scheme: string) => (scheme.toLowerCase() === 'dark' ? ALWAYS : NEVER))}{`;
    });
    return open + body + close;
  });
  return {
    html: declaresDark ? injectHead(rewritten, '<style data-depesche-preview>:root{color-scheme:dark}</style>') : rewritten,
    rewrittenQueries,
    declaresDark,
  };
}

/** Puts markup at the end of <head>, or at the start when the document has none. */
export function injectHead(html: string, markup: string): string {
  const at = html.search(/<\/head\s*>/i);
  return at === -1 ? markup + html : html.slice(0, at) + markup + html.slice(at);
}
