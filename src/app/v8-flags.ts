/**
 * V8 fixes the shape of its heap when the process starts; `v8.setFlagsFromString` cannot
 * shrink it later. A process that needs other heap settings replaces itself (same pid, via
 * execve) with one started with them. Nothing happens when any of the flags was given
 * already (on the command line or in NODE_OPTIONS), or on a Node without execve.
 */
export function execWithV8Flags(flags: string[]): void {
  const names = flags.map((flag) => flag.split('=')[0]!);
  const given = [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((arg) => names.some((name) => arg.includes(name)));
  if (given || typeof process.execve !== 'function') return;
  process.execve(process.execPath, [process.execPath, ...flags, ...process.execArgv, ...process.argv.slice(1)], process.env);
}
