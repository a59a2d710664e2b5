import type { Lang } from './lang.ts';

/**
 * The contract between compiling and sending. An Edition is one issue in one language,
 * compiled once. Sending never runs MJML: it fills the merge fields (render/merge.ts)
 * into the frozen `html` and `text`.
 */
export interface Edition {
  slug: string;
  lang: Lang;
  /** Template the issue was written for: `briefing` or `article`. */
  template: string;
  subject: string;
  preheader: string;
  /** Full HTML document with merge markers where per-recipient values go. */
  html: string;
  /** Plain-text part with the same markers. */
  text: string;
  /** Salutation in this language; the sender fills the `greeting` merge field from it. */
  greeting: Greeting;
  /** Title and date, for archive pages and the preview index. */
  title: string;
  date: string;
}

export interface Greeting {
  /** Contains `{name}`, e.g. "Hallo {name},". */
  named: string;
  /** For subscribers without a name, e.g. "Guten Tag,". */
  anonymous: string;
}
