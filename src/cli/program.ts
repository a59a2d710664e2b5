import { Command } from 'commander';
import { isDepescheError } from '../errors.ts';

export const program = new Command('depesche')
  .description('Bilingual email newsletters: write in Markdown, preview, and send in batches through SMTP.')
  .showHelpAfterError('(run with --help for usage)')
  .configureHelp({ sortSubcommands: false });

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
      if (isDepescheError(error)) {
        process.stderr.write(`error: ${error.format()}\n`);
      } else {
        process.stderr.write(`unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      }
      process.exitCode = 1;
    }
  };
}

/** Parses an integer option and names it when it is not one. */
export function intOption(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n)) throw new Error(`${name} must be a whole number, got "${value}"`);
    return n;
  };
}
