import { useRunningDevStack } from '../config/dev-env.ts';
import { createProgram, quietOnClosedPipe, runProgram } from './program.ts';
import { COMMANDS } from './registry.ts';

quietOnClosedPipe();
const program = createProgram(COMMANDS, {
  // Inside a folder where `depesche dev` runs, talk to its Redis and inbox, and say so once.
  beforeDevStackCommand: () => {
    const used = useRunningDevStack(process.cwd(), process.env);
    if (used) process.stderr.write(`${used}\n`);
  },
});
await runProgram(program, process.argv);
