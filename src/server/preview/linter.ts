import { Worker } from 'node:worker_threads';
import type { LintReply, LintRequest } from './lint-worker.ts';
import type { PreviewFinding } from './types.ts';

/** Lint for the preview: the compiler's own, or the same on a worker thread. */
export interface PreviewLinter {
  lint(slug: string): Promise<PreviewFinding[]>;
  /** What the templates and locale files cause (`depesche lint --templates`). */
  lintTemplates(): Promise<PreviewFinding[]>;
  invalidate(path: string): void;
  close(): Promise<void>;
}

/**
 * A compiler of its own on a worker thread, fed the same invalidations as the server's,
 * so linting never blocks a rebuild. If the thread dies, lint falls back to `fallback`.
 */
export function workerLinter(options: { contentDir: string; publicUrl: string }, fallback: (slug: string | null) => Promise<PreviewFinding[]>): PreviewLinter {
  let worker: Worker | undefined = new Worker(new URL('./lint-worker.ts', import.meta.url), { workerData: options });
  const pending = new Map<number, { resolve: (findings: PreviewFinding[]) => void; reject: (error: Error) => void }>();
  let next = 0;
  const fail = (error: Error) => {
    worker = undefined;
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  worker.on('message', (reply: LintReply) => {
    const waiter = pending.get(reply.id);
    if (!waiter) return;
    pending.delete(reply.id);
    if (pending.size === 0) worker?.unref();
    if ('error' in reply) waiter.reject(new Error(reply.error));
    else waiter.resolve(reply.findings as PreviewFinding[]);
  });
  worker.on('error', fail);
  worker.on('exit', (code) => fail(new Error(`the lint thread stopped (exit code ${code})`)));
  // An idle lint thread must not keep a CLI or a test process alive; a busy one must.
  worker.unref();

  const ask = (slug: string | null): Promise<PreviewFinding[]> => {
    const thread = worker;
    if (!thread) return fallback(slug);
    const id = next++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      thread.ref();
      thread.postMessage({ type: 'lint', id, slug } satisfies LintRequest);
    });
  };

  return {
    lint: (slug) => ask(slug),
    lintTemplates: () => ask(null),
    invalidate(path) {
      worker?.postMessage({ type: 'invalidate', path } satisfies LintRequest);
    },
    async close() {
      const thread = worker;
      worker = undefined;
      await thread?.terminate();
    },
  };
}
