import { EventEmitter } from 'node:events';
import { relative, sep } from 'node:path';
import { isDepescheError } from '../../errors.ts';
import type { PreviewLinter } from './linter.ts';
import type { PreviewCompiler, PreviewEdition, PreviewFinding, PreviewIssueSummary } from './types.ts';

/** A failed compile as the overlay shows it: the formatted text plus where to look. */
export interface PreviewFailure {
  message: string;
  code?: string;
  file?: string;
  line?: number;
}

/** The latest result for one issue. `editions` keeps the last good build under a failure. */
export interface IssueState {
  slug: string;
  /** Grows with every finished build, good or bad; pages compare it to skip stale fetches. */
  version: number;
  editions: PreviewEdition[] | undefined;
  failure: PreviewFailure | undefined;
  findings: PreviewFinding[] | undefined;
  /** The build `findings` came from; below `version` they are the last save's, still shown while lint runs. */
  lintedVersion: number;
  /** Milliseconds the last build took. */
  compileMs: number;
}

export type PreviewEvent =
  | { type: 'issue'; slug: string; version: number; ok: boolean }
  | { type: 'lint'; slug: string; version: number }
  | { type: 'index' };

export function describeFailure(error: unknown, contentDir: string): PreviewFailure {
  if (isDepescheError(error)) {
    const file = error.location?.file;
    return {
      // Paths read better relative to the content folder, as the editor's file tree shows them.
      message: error.format().replaceAll(contentDir + sep, ''),
      code: error.code,
      file: file ? displayPath(file, contentDir) : undefined,
      line: error.location?.line,
    };
  }
  return { message: error instanceof Error ? (error.stack ?? error.message) : String(error) };
}

/** Paths inside the content folder read better relative to it: `issues/x/de.md`. */
export function displayPath(file: string, contentDir: string): string {
  const rel = relative(contentDir, file);
  return rel && !rel.startsWith('..') && !rel.startsWith('/') ? rel : file;
}

/**
 * Holds the compiled issues between requests and rebuilds only what a change touches.
 * Builds of one issue run one after another, so a slow build never overwrites a newer one.
 */
export class PreviewState {
  readonly events = new EventEmitter<{ event: [PreviewEvent] }>();
  readonly #compiler: PreviewCompiler;
  readonly #contentDir: string;
  readonly #linter: PreviewLinter | undefined;
  readonly #issues = new Map<string, IssueState>();
  readonly #queues = new Map<string, Promise<IssueState>>();
  #summaries: Promise<PreviewIssueSummary[]> | undefined;
  /** Quiet time after a build before lint runs. */
  lintDelayMs = 250;

  /** Lint goes to `linter` when given (a worker thread), else to the compiler. */
  constructor(compiler: PreviewCompiler, contentDir: string, linter?: PreviewLinter) {
    this.#compiler = compiler;
    this.#contentDir = contentDir;
    this.#linter = linter;
    this.events.setMaxListeners(0);
  }

  summaries(): Promise<PreviewIssueSummary[]> {
    this.#summaries ??= this.#compiler.listIssues().catch((error: unknown) => {
      this.#summaries = undefined;
      throw error;
    });
    return this.#summaries;
  }

  /** Lists the issues again on next use: for previews that do not watch the folder. */
  forgetList(): void {
    this.#summaries = undefined;
  }

  async summary(slug: string): Promise<PreviewIssueSummary | undefined> {
    return (await this.summaries()).find((s) => s.slug === slug);
  }

  /** The cached state, built on first use. */
  async get(slug: string): Promise<IssueState> {
    return this.#issues.get(slug) ?? this.#queues.get(slug) ?? this.rebuild(slug);
  }

  /** Compiles one issue now (after any build of it already running) and tells the pages. */
  rebuild(slug: string): Promise<IssueState> {
    const previous = this.#queues.get(slug) ?? Promise.resolve(undefined);
    const next = previous.catch(() => undefined).then(() => this.#build(slug));
    this.#queues.set(slug, next);
    void next.finally(() => {
      if (this.#queues.get(slug) === next) this.#queues.delete(slug);
    });
    return next;
  }

  async #build(slug: string): Promise<IssueState> {
    const old = this.#issues.get(slug);
    const state: IssueState = {
      slug,
      version: (old?.version ?? 0) + 1,
      editions: old?.editions,
      failure: undefined,
      findings: old?.findings,
      lintedVersion: old?.lintedVersion ?? 0,
      compileMs: 0,
    };
    const started = performance.now();
    try {
      state.editions = await this.#compiler.compile(slug);
    } catch (error) {
      state.failure = describeFailure(error, this.#contentDir);
    }
    state.compileMs = performance.now() - started;
    this.#issues.set(slug, state);
    this.events.emit('event', { type: 'issue', slug, version: state.version, ok: !state.failure });
    if (!state.failure) this.#scheduleLint(state);
    return state;
  }

  // Lint runs after the page got its update, and only once saves pause: it costs several
  // builds' worth of CPU, which on a busy machine slows the next save's rebuild even from
  // the lint thread.
  #scheduleLint(state: IssueState): void {
    const timer = setTimeout(() => void this.#lint(state), this.lintDelayMs);
    timer.unref();
  }

  async #lint(state: IssueState): Promise<void> {
    if (this.#issues.get(state.slug) !== state || this.#queues.has(state.slug)) return;
    let findings: PreviewFinding[];
    try {
      findings = await (this.#linter ? this.#linter.lint(state.slug) : this.#compiler.lint(state.slug));
    } catch (error) {
      const failure = describeFailure(error, this.#contentDir);
      findings = [{ severity: 'error', rule: 'lint-crashed', message: failure.message, file: failure.file, line: failure.line }];
    }
    if (this.#issues.get(state.slug) !== state) return;
    state.findings = findings;
    state.lintedVersion = state.version;
    this.events.emit('event', { type: 'lint', slug: state.slug, version: state.version });
    this.events.emit('event', { type: 'index' });
  }

  /** A file under the content changed: rebuild the issues it feeds that anyone has looked at. */
  async changed(path: string): Promise<void> {
    const affected = this.#compiler.invalidate(path);
    this.#linter?.invalidate(path);
    const targets = affected === 'all' ? [...this.#issues.keys()] : affected.filter((slug) => this.#issues.has(slug));
    // Titles, dates and the set of issues may have changed too; list again beside the rebuild.
    this.#summaries = undefined;
    const [listed] = await Promise.all([
      this.summaries().catch(() => undefined),
      ...targets.map((slug) => this.rebuild(slug)),
    ]);
    if (listed) {
      for (const slug of this.#issues.keys()) if (!listed.some((s) => s.slug === slug)) this.#issues.delete(slug);
    }
    this.events.emit('event', { type: 'index' });
  }
}
