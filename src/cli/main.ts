import type { Command } from 'commander';
import { program } from './program.ts';
import { register as build } from './commands/build.ts';
import { register as lint } from './commands/lint.ts';
import { register as preview } from './commands/preview.ts';
import { register as testSend } from './commands/test-send.ts';
import { register as subscribers } from './commands/subscribers.ts';
import { register as serve } from './commands/serve.ts';
import { register as dev } from './commands/dev.ts';
import { register as send } from './commands/send.ts';
import { register as status } from './commands/status.ts';
import { register as pause } from './commands/pause.ts';
import { register as resume } from './commands/resume.ts';
import { register as cancel } from './commands/cancel.ts';
import { register as resend } from './commands/resend.ts';
import { register as worker } from './commands/worker.ts';

// Each command lives in its own module under commands/ and registers itself here.
// Keep this list in the order `depesche --help` should show them.
const commands: ((program: Command) => void)[] = [build, lint, preview, testSend, subscribers, send, status, pause, resume, cancel, resend, worker, serve, dev];

for (const register of commands) register(program);

await program.parseAsync(process.argv);
