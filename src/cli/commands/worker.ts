import { loadConfig } from '../../config/index.ts';
import { execWithHeapCap, runWorkerProcess } from '../../app/worker-process.ts';

/** `depesche worker`. */
export async function worker(): Promise<void> {
  const config = loadConfig();
  execWithHeapCap(config);
  await runWorkerProcess(config);
}
