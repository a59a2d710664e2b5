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
  /** The Markdown title, `![alt](src "caption")`, shown under the image. */
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
  /** The editions the front matter declares (`languages:`), or null when it names none. */
  languages: Lang[] | null;
  issue: number | null;
  tagline: string;
  author: string;
  dek: string;
  impressum: string;
}

/**
 * Something in an issue file that builds but would not reach readers as meant (raw
 * HTML, a `javascript:` link, …). Parsing keeps going; lint reports each with its line.
 */
export interface ContentNote {
  severity: 'error' | 'warning';
  rule: string;
  /** 0-based line in the body while parsing; 1-based file line in an IssueDocument. */
  line: number;
  message: string;
  hint: string;
}

/** A table as lint and parity see it: its shape and its cells as plain text. */
export interface TableShape {
  line: number;
  header: string[];
  rows: string[][];
}

/**
 * One stretch of an issue between headings (or briefing blocks), summarised for the
 * parity check: what a translation must keep, with the line where it starts.
 */
export interface OutlineSection {
  /** `start` is the text before the first heading. */
  kind: 'start' | 'heading' | 'block';
  /** Heading level (2 for ##); 0 otherwise. */
  level: number;
  /** Heading text, or the block's name. */
  title: string;
  line: number;
  paragraphs: number;
  lists: { ordered: boolean; items: number; line: number }[];
  tables: TableShape[];
  images: { src: string; line: number }[];
  quotes: { line: number }[];
  code: { line: number }[];
}

export interface Outline {
  sections: OutlineSection[];
  /** Every link target in document order, with its 1-based file line. */
  links: { href: string; line: number }[];
  footnotes: number;
  /** Words of running text (headings, paragraphs, lists, quotes, table cells). */
  words: number;
  /** Running text (not code, not tables) for language detection, one paragraph or heading a line, at most a few thousand characters. */
  text: string;
}

/** One language file of an issue, parsed. */
export interface IssueDocument {
  slug: string;
  lang: Lang;
  file: string;
  /** When the file was last written, to tell which of two editions changed. */
  mtimeMs: number;
  meta: IssueMeta;
  /** 1-based line of a front matter key, for errors that point at it. */
  metaLine(key: string): number;
  /** Briefing parts; empty for free-form templates. */
  parts: Part[];
  /** Free-form body HTML (the `article` template); empty for briefings. */
  bodyHtml: string;
  /** Structure and text of the body, for parity, language and table checks. */
  outline: Outline;
  /** What parsing noticed and rendered harmless; lint reports it. Lines are file lines. */
  notes: ContentNote[];
}
