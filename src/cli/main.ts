import type { Command } from 'commander';
import { program } from './program.ts';

type Register = (program: Command) => void;

// Each command lives in its own module under commands/ and registers itself.
// The order here is the order `depesche --help` shows them.
const commands: Record<string, () => Promise<{ register: Register }>> = {
  build: () => import('./commands/build.ts'),
  lint: () => import('./commands/lint.ts'),
  preview: () => import('./commands/preview.ts'),
  'test-send': () => import('./commands/test-send.ts'),
  subscribers: () => import('./commands/subscribers.ts'),
  send: () => import('./commands/send.ts'),
  status: () => import('./commands/status.ts'),
  // One module registers pause, resume and cancel; the overview loads it once.
  pause: () => import('./commands/campaign-control.ts'),
  resume: () => import('./commands/campaign-control.ts'),
  cancel: () => import('./commands/campaign-control.ts'),
  update: () => import('./commands/update.ts'),
  resend: () => import('./commands/resend.ts'),
  publish: () => import('./commands/publish.ts'),
  worker: () => import('./commands/worker.ts'),
  inbound: () => import('./commands/inbound.ts'),
  serve: () => import('./commands/serve.ts'),
  admin: () => import('./commands/admin.ts'),
  dev: () => import('./commands/dev.ts'),
};

// A command module pulls in its part of the stack (MJML, fastify, BullMQ); loading all of
// them costs seconds. Load only the one being run, and all of them for the overview help
// or an unknown name, so commander can list them or suggest the closest.
const named = process.argv[2];
const selected = named && Object.hasOwn(commands, named) ? [commands[named]!] : Object.values(commands);
const modules = new Set(await Promise.all(selected.map((load) => load())));
for (const module of modules) module.register(program);

await program.parseAsync(process.argv);
