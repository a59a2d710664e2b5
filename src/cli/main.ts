import { execWithV8Flags } from '../app/v8-flags.ts';
import { useRunningDevStack } from '../config/dev-env.ts';
import { createProgram, quietOnClosedPipe, runProgram } from './program.ts';
import { COMMANDS } from './registry.ts';

quietOnClosedPipe();
const program = createProgram(COMMANDS, {
  beforeRun: (spec) => {
    // Inside a folder where `depesche dev` runs, talk to its Redis and inbox, and say so once
    // (a restart below inherits the settings, so it stays once).
    if (spec.usesDevStack) {
      const used = useRunningDevStack(process.cwd(), process.env);
      if (used) process.stderr.write(`${used}\n`);
    }
    if (spec.v8Flags) execWithV8Flags(spec.v8Flags);
  },
});
await runProgram(program, process.argv);
