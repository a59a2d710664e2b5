// The campaign worker process: `node worker/index.ts`, the same as `depesche worker`.
// It only wires the campaign processors to BullMQ; src/app/worker-process.ts does that.
import { loadConfig } from '../src/config/index.ts';
import { execWithHeapCap, runWorkerProcess } from '../src/app/worker-process.ts';

const config = loadConfig();
execWithHeapCap(config);
await runWorkerProcess(config);
