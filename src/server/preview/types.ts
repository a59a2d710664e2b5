import type { Edition } from '../../core/edition.ts';
import type { EditionFallback } from '../../core/edition-fallback.ts';
import type { Lang } from '../../core/lang.ts';
import type { Finding } from '../../render/lint/finding.ts';
import type { Transport } from '../../transport/types.ts';
import type { NavLink } from './pages.ts';
import type { ProofSettings } from './proof.ts';

/**
 * What the preview needs from the compile pipeline. It is declared here, by the module
 * that uses it, so tests and the admin app can hand in any implementation;
 * `createCompiler()` from src/render satisfies it.
 */
export interface PreviewCompiler {
  listIssues(): Promise<PreviewIssueSummary[]>;
  /** Throws a DepescheError with `.location` when the issue cannot be compiled. */
  compile(slug: string): Promise<PreviewEdition[]>;
  lint(slug: string): Promise<PreviewFinding[]>;
  /** Forgets whatever depends on `changedPath` and names the issues to rebuild. */
  invalidate(changedPath: string): 'all' | string[];
  /** The template view; a compiler without these gets a page that says so. */
  listTemplates?(): Promise<PreviewTemplateSummary[]>;
  compileProbe?(template: string): Promise<PreviewEdition[]>;
  lintTemplates?(): Promise<PreviewFinding[]>;
}

export interface PreviewTemplateSummary {
  name: string;
  file: string;
  body: 'blocks' | 'markdown';
  greeting: boolean;
}

export interface PreviewIssueSummary {
  slug: string;
  langs: readonly Lang[];
  title: string;
  date: string;
  template: string;
  files: Partial<Record<Lang, string>>;
}

export interface PreviewEdition extends Edition {
  mjml: string;
  htmlBytes: number;
  sourceFile: string;
}

/** A lint finding as the preview shows it: the linter's own type (it crosses a worker thread as JSON). */
export type PreviewFinding = Finding;

export interface PreviewOptions {
  /** Root holding issues/, templates/ and locales/; the watcher looks there. */
  contentDir: string;
  /** Links in the previewed mails (unsubscribe, archive, …) point here. */
  publicUrl: string;
  compiler: PreviewCompiler;
  /** Proof sends go through it; without one the proof form says how to configure SMTP. */
  transport?: Transport;
  /** Shown as the sender and used for proofs. @defaultValue `Depesche <newsletter@localhost>` */
  mailFrom?: string;
  /** Headers and link signing of proofs: `UNSUBSCRIBE_MAILTO`, `LIST_ID_DOMAIN`, `DEPESCHE_SECRET`. */
  proofSettings?: Partial<Pick<ProofSettings, 'unsubscribeMailto' | 'listIdDomain' | 'secret' | 'list'>>;
  /** Links in the top bar to the host app's other pages, e.g. `{ href: '/inbox', label: 'Inbox' }`. */
  links?: readonly NavLink[];
  /**
   * Lint on a worker thread with a compiler of its own, so lint never holds up a rebuild.
   * Turn it off to lint through `compiler` on the server's thread. @defaultValue true
   */
  lintThread?: boolean;
  /** Watch the content and push updates to open pages. @defaultValue true */
  watch?: boolean;
  /** `EDITION_FALLBACK`: what the note on a missing edition says its readers get. @defaultValue `other` */
  editionFallback?: EditionFallback;
}
