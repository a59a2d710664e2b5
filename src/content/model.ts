import type { Lang } from '../core/lang.ts';

/**
 * The section model: what an issue says, independent of how a template lays it out.
 * HTML and plain text are both rendered from it, so they carry the same parts,
 * headlines and links.
 */

/** Parts of the `briefing` template, in the order they usually appear. */
export const PART_KINDS = ['editorial', 'focus', 'news', 'quote', 'numbers', 'policy', 'radar', 'deepdive', 'footer'] as const;
export type PartKind = (typeof PART_KINDS)[number];

export interface Link {
  label: string;
  href: string;
  /** 1-based line in the .md file. */
  line: number;
}

export interface Image {
  src: string;
  alt: string;
  caption: string;
  line: number;
}

/** One block of the issue body (`::: news` … `:::`), rendered to HTML fragments. */
export interface Item {
  line: number;
  /** Inline HTML of the block's first heading. */
  headline: string;
  /** Short plain values from the block's opening line, e.g. `signature="…"`. */
  attrs: Record<string, string>;
  /** Block-level HTML of everything that is not a field, headline, image or link. */
  body: string;
  /** `+++ why` (why it matters) and `+++ about` (what it is about), as HTML. */
  why: string;
  about: string;
  link: Link | null;
  image: Image | null;
}

export interface Part {
  kind: PartKind;
  line: number;
  items: Item[];
}

/** Validated front matter (see front-matter.ts for the fields and their meaning). */
export interface IssueMeta {
  template: string;
  title: string;
  subject: string;
  preheader: string;
  /** ISO date, YYYY-MM-DD. */
  date: string;
  issue: number | null;
  tagline: string;
  author: string;
  dek: string;
  impressum: string;
}

/** One language file of an issue, parsed. */
export interface IssueDocument {
  slug: string;
  lang: Lang;
  file: string;
  meta: IssueMeta;
  /** 1-based line of a front matter key, for errors that point at it. */
  metaLine(key: string): number;
  /** Briefing parts; empty for free-form templates. */
  parts: Part[];
  /** Free-form body HTML (the `article` template); empty for briefings. */
  bodyHtml: string;
  /** Link targets in document order, for the DE/EN parity check. */
  links: string[];
}
