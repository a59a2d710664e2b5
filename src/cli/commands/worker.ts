import type { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { execWithHeapCap, runWorkerProcess } from '../../app/worker-process.ts';
import { action } from '../program.ts';

export function register(program: Command): void {
  program
    .command('worker')
    .description('Run a campaign worker: sends batches from Redis over SMTP until SIGTERM, then finishes what is in flight. Run as many as you like.')
    .action(
      action(async () => {
        const config = loadConfig();
        execWithHeapCap(config);
        await runWorkerProcess(config);
      }),
    );
}
