import { loadConfig } from '../../config/index.ts';
import { execWithHeapCap, runWorkerProcess } from '../../app/worker-process.ts';

/** `depesche worker`. */
export async function worker(): Promise<number> {
  const config = loadConfig();
  execWithHeapCap(config);
  const code = await runWorkerProcess(config);
  // A worker that could not record every answer exits non-zero, even with handles left open.
  if (code !== 0) setTimeout(() => process.exit(code), 500).unref();
  return code;
}
