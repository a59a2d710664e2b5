import type { Command } from 'commander';
import { loadConfig } from '../../config/index.ts';
import { execWithHeapCap, runWorkerProcess } from '../../app/worker-process.ts';
import { action } from '../program.ts';

export function register(program: Command): void {
  program
    .command('worker')
    .description(
      'Run a campaign worker: sends batches from Redis over SMTP until SIGTERM, then finishes what is in flight ' +
        '(waiting for Redis at most SHUTDOWN_TIMEOUT_MS). Run as many as you like.',
    )
    .action(
      action(async () => {
        const config = loadConfig();
        execWithHeapCap(config);
        const code = await runWorkerProcess(config);
        if (code !== 0) setTimeout(() => process.exit(code), 500).unref();
        return code;
      }),
    );
}
