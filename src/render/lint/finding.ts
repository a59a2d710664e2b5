import type { Lang } from '../../core/lang.ts';

/**
 * What every lint rule returns: one problem, where it is and what to do about it.
 * `file` is the file to open; `related` is the other place it concerns (the matching
 * line in the other edition, for parity).
 */
export interface Finding {
  severity: 'error' | 'warning';
  /** The rule's name, e.g. `parity`, `table-width`; each rule is one file under render/lint/rules/. */
  rule: string;
  message: string;
  /** What to do, when the message alone does not say it. */
  hint?: string;
  file?: string;
  /** 1-based line in `file`. */
  line?: number;
  lang?: Lang;
  related?: { file: string; line?: number };
}
