// Runs `depesche lint` for the preview on its own thread. Lint costs several builds' worth
// of CPU, all of it synchronous (MJML, caniemail); on the server's thread it would hold up
// the next save's rebuild for as long.
import { parentPort, workerData } from 'node:worker_threads';
import { createCompiler, type CompilerOptions } from '../../render/index.ts';

export type LintRequest = { type: 'lint'; id: number; slug: string } | { type: 'invalidate'; path: string };
export type LintReply = { id: number; findings: unknown[] } | { id: number; error: string };

const compiler = createCompiler(workerData as CompilerOptions);
const port = parentPort!;

port.on('message', async (request: LintRequest) => {
  if (request.type === 'invalidate') {
    compiler.invalidate(request.path);
    return;
  }
  try {
    port.postMessage({ id: request.id, findings: await compiler.lint(request.slug) } satisfies LintReply);
  } catch (error) {
    port.postMessage({ id: request.id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) } satisfies LintReply);
  }
});
