// The campaign worker process: `node worker/index.ts`, the same as `depesche worker`.
// It only wires the campaign processors to BullMQ; src/app/worker-process.ts does that.
import { loadConfig } from '../src/config/index.ts';
import { execWithHeapCap, runWorkerProcess } from '../src/app/worker-process.ts';
import { isDepescheError } from '../src/errors.ts';

try {
  const config = loadConfig();
  execWithHeapCap(config);
  process.exitCode = await runWorkerProcess(config);
} catch (error) {
  // Known errors (a missing secret, an evicting Redis) print as the CLI prints them.
  if (!isDepescheError(error)) throw error;
  process.stderr.write(`error: ${error.format()}\n`);
  process.exitCode = 1;
}
// A worker that stopped must not be kept alive by a connection still retrying.
if (process.exitCode) setTimeout(() => process.exit(), 500).unref();
