// Runs `depesche lint` for the preview on its own thread. Lint costs several builds' worth
// of CPU, all of it synchronous (MJML, caniemail); on the server's thread it would hold up
// the next save's rebuild for as long.
import { parentPort, workerData } from 'node:worker_threads';
import { createCompiler, type CompilerOptions } from '../../render/index.ts';

/** `slug: null` asks for the templates' lint (`depesche lint --templates`). */
export type LintRequest = { type: 'lint'; id: number; slug: string | null } | { type: 'invalidate'; path: string };
export type LintReply = { id: number; findings: unknown[] } | { id: number; error: string };

const compiler = createCompiler(workerData as CompilerOptions);
const port = parentPort!;

port.on('message', async (request: LintRequest) => {
  if (request.type === 'invalidate') {
    compiler.invalidate(request.path);
    return;
  }
  try {
    const findings = request.slug === null ? await compiler.lintTemplates() : await compiler.lint(request.slug);
    port.postMessage({ id: request.id, findings } satisfies LintReply);
  } catch (error) {
    port.postMessage({ id: request.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies LintReply);
  }
});
