import type { Edition } from '../core/edition.ts';

/** An edition as the compiler returns it: the Edition contract plus what build, lint and the preview show. */
export interface CompiledEdition extends Edition {
  /** The MJML the template produced, for debugging and the benchmark. */
  mjml: string;
  /** UTF-8 size of `html` with its merge markers. */
  htmlBytes: number;
  sourceFile: string;
}
