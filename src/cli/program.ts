import { readFileSync } from 'node:fs';
import { Argument, Command, InvalidArgumentError, Option } from 'commander';
import { isDepescheError } from '../errors.ts';

/**
 * The `depesche` command line, built from a registry of plain descriptions (commands.ts)
 * so that `depesche --help` and `depesche <command> --help` load nothing but commander:
 * a command's module, with its part of the stack (MJML, fastify, BullMQ), is imported
 * only when that command runs.
 */

/** What a command's module exports for the registry: commander's positional values, then the options. */
// commander hands over untyped values; each command module types its own parameters.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type CommandAction = (...args: any[]) => Promise<number | void> | number | void;

export interface ArgumentSpec {
  /** `<slug>`, `[id]` or `[slug...]`, as commander writes them. */
  name: string;
  description: string;
  choices?: readonly string[];
}

export interface OptionSpec {
  /** e.g. `-p, --port <port>` or `--dry-run`. */
  flags: string;
  description: string;
  default?: string | number | boolean;
  /** Turns the text into the value; whatever it throws becomes a usage error naming the flag. */
  parse?: (value: string) => unknown;
  choices?: readonly string[];
  /** A mandatory option (commander's requiredOption). */
  required?: boolean;
}

export interface CommandSpec {
  name: string;
  description: string;
  arguments?: ArgumentSpec[];
  options?: OptionSpec[];
  /** Imports the module that runs the command, when it runs; absent for a group of subcommands. */
  load?: () => Promise<CommandAction>;
  /** Subcommands, e.g. `subscribers import`. */
  commands?: CommandSpec[];
  /**
   * The command talks to Redis or SMTP: started inside a folder where `depesche dev` runs,
   * it uses that dev stack's settings (see config/dev-env.ts).
   */
  usesDevStack?: boolean;
  /**
   * V8 heap settings the command's process needs, e.g. `--max-semi-space-size=4`. Node fixes
   * them at start, so the CLI restarts itself with them (app/v8-flags.ts); commands run in
   * process (tests) run as they are.
   */
  v8Flags?: string[];
}

/** `lazy(() => import('./commands/x.ts'), 'x')`: the named export of a command module, loaded on demand. */
export function lazy<M, K extends keyof M>(load: () => Promise<M>, name: K): () => Promise<CommandAction> {
  return async () => (await load())[name] as CommandAction;
}

/**
 * Wraps a command action: known errors print briefly (where, what, what to do) and
 * exit 1; anything unexpected prints in full, since it is a bug worth reporting.
 */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<number | void> | number | void) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args);
      if (typeof code === 'number') process.exitCode = code;
    } catch (error) {
      reportError(error);
      process.exitCode = 1;
    }
  };
}

function reportError(error: unknown): void {
  if (isDepescheError(error)) {
    process.stderr.write(`error: ${error.format()}\n`);
  } else {
    process.stderr.write(`unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  }
}

/** A whole number, or a usage error. */
export function integer(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n)) throw new InvalidArgumentError('It must be a whole number.');
  return n;
}

/** A whole number above zero, such as a rate. */
export function positiveInteger(value: string): number {
  const n = integer(value);
  if (n < 1) throw new InvalidArgumentError('It must be a whole number above 0.');
  return n;
}

/** A TCP port to listen on; 0 lets the system pick a free one. */
export function port(value: string): number {
  const n = integer(value);
  if (n < 0 || n > 65535) throw new InvalidArgumentError('It must be a port number from 0 to 65535 (0: any free port).');
  return n;
}

/** The package version, for `--version`; read when the program is built, a few hundred bytes. */
function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** Any error from a value parser, as the usage error commander prints with the flag's name. */
function usageErrors(parse: (value: string) => unknown): (value: string) => unknown {
  return (value) => {
    try {
      return parse(value);
    } catch (error) {
      if (error instanceof InvalidArgumentError) throw error;
      throw new InvalidArgumentError(isDepescheError(error) ? error.message : (error as Error).message);
    }
  };
}

function optionOf(spec: OptionSpec): Option {
  const option = new Option(spec.flags, spec.description);
  if (spec.choices) option.choices(spec.choices);
  if (spec.parse) option.argParser(usageErrors(spec.parse));
  if (spec.default !== undefined) option.default(spec.default);
  if (spec.required) option.makeOptionMandatory();
  return option;
}

export interface ProgramOptions {
  /** Throw commander's errors instead of exiting, for tests that run commands in process. */
  exitOverride?: boolean;
  /** Called before a command's module is loaded; main.ts applies `usesDevStack` and `v8Flags` there. */
  beforeRun?: (spec: CommandSpec) => void;
}

function addCommand(parent: Command, spec: CommandSpec, options: ProgramOptions): void {
  const command = parent.command(spec.name).description(spec.description);
  for (const argument of spec.arguments ?? []) {
    const built = new Argument(argument.name, argument.description);
    if (argument.choices) built.choices(argument.choices);
    command.addArgument(built);
  }
  for (const option of spec.options ?? []) command.addOption(optionOf(option));
  for (const sub of spec.commands ?? []) addCommand(command, sub, options);
  const load = spec.load;
  if (load) {
    command.action(
      action(async (...args: unknown[]) => {
        options.beforeRun?.(spec);
        const run = await load();
        // commander passes the positional values, the options, then the command itself.
        return run(...args.slice(0, -1));
      }),
    );
  }
}

/** The whole command line from the registry; nothing is imported until a command runs. */
export function createProgram(specs: readonly CommandSpec[], options: ProgramOptions = {}): Command {
  const program = new Command('depesche')
    .description('Bilingual email newsletters: write in Markdown, preview, and send in batches through SMTP.')
    .version(packageVersion(), '-V, --version', 'print the version of depesche')
    .showHelpAfterError('(run with --help for usage)')
    .configureHelp({ sortSubcommands: false });
  if (options.exitOverride) program.exitOverride();
  for (const spec of specs) addCommand(program, spec, options);
  return program;
}

/**
 * Output piped into `head` or `less` that is closed early (EPIPE) ends the command quietly:
 * the reader has what it wanted. Without this, Node reports an unhandled stream error.
 */
export function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
  }
}

/** Runs the command line; errors that escape commander itself still print briefly. */
export async function runProgram(program: Command, argv: readonly string[]): Promise<void> {
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    reportError(error);
    process.exitCode = 1;
  }
}
