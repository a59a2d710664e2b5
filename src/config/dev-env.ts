import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/**
 * What `depesche dev` leaves in `.depesche/` for the terminals next to it: `dev.env`, the
 * settings that reach its Redis, inbox and public app, and `dev.pid` while it runs.
 *
 * A CLI started in that folder (or below it) while dev runs uses those settings on its
 * own and says so in one line, instead of quietly talking to whatever Redis listens on
 * 6379. Settings named in the environment or a config file win: with REDIS_URL or
 * DEPESCHE_CONFIG set, nothing is taken from here. dev also reads its last `dev.env` back
 * to keep its ports across restarts, so a shell that sourced the file keeps working.
 *
 * This module stays light (no schema, no Redis): the CLI reads it before any command.
 */

export const STATE_DIR = '.depesche';
const ENV_FILE = 'dev.env';
const PID_FILE = 'dev.pid';

/** Writes both files; `values` are settings such as REDIS_URL and SMTP_URL. */
export function writeDevEnv(stateDir: string, values: Record<string, string>, pid = process.pid): void {
  const lines = [
    `# Written by depesche dev (pid ${pid}). A depesche command in this folder uses these while dev runs;`,
    '# in another shell: set -a; . .depesche/dev.env; set +a',
    ...Object.entries(values).map(([key, value]) => `${key}=${value}`),
  ];
  writeFileSync(join(stateDir, ENV_FILE), `${lines.join('\n')}\n`, { mode: 0o600 });
  writeFileSync(join(stateDir, PID_FILE), `${pid}\n`);
}

/** dev stopped: the settings stay (for its next start), the pid goes. */
export function markDevStopped(stateDir: string): void {
  rmSync(join(stateDir, PID_FILE), { force: true });
}

/** The settings of the last dev run in `stateDir`, running or not. */
export function readDevEnv(stateDir: string): Record<string, string> | undefined {
  let text: string;
  try {
    text = readFileSync(join(stateDir, ENV_FILE), 'utf8');
  } catch {
    return undefined;
  }
  const values: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (match) values[match[1]!] = match[2]!;
  }
  return values;
}

function alive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 1) return false;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // A pid reused by another program after a crash is not dev.
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('depesche');
  } catch {
    return true; // no /proc (macOS): the process exists, which is the best we know
  }
}

export interface DevStackHere {
  /** The `.depesche` folder. */
  stateDir: string;
  values: Record<string, string>;
  /** The pid of the running dev, or undefined when it has stopped. */
  pid: number | undefined;
}

/** The nearest `.depesche/dev.env` from `cwd` upwards, with whether its dev still runs. */
export function findDevStack(cwd: string): DevStackHere | undefined {
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const stateDir = join(dir, STATE_DIR);
    if (existsSync(join(stateDir, ENV_FILE))) {
      const values = readDevEnv(stateDir) ?? {};
      let pid: number | undefined;
      try {
        pid = Number(readFileSync(join(stateDir, PID_FILE), 'utf8').trim());
      } catch {
        pid = undefined;
      }
      return { stateDir, values, pid: pid !== undefined && alive(pid) ? pid : undefined };
    }
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * Fills `env` with the settings of the dev stack running here, unless the environment
 * names its own Redis or config file. Returns the line to tell the user, if any.
 */
export function useRunningDevStack(cwd: string, env: NodeJS.ProcessEnv): string | undefined {
  if (env.REDIS_URL || env.DEPESCHE_CONFIG) return undefined;
  const dev = findDevStack(cwd);
  if (!dev?.values.REDIS_URL) return undefined;
  const file = relative(cwd, join(dev.stateDir, ENV_FILE)) || join(STATE_DIR, ENV_FILE);
  if (dev.pid === undefined) {
    return `note: ${file} is from a depesche dev that is not running; using REDIS_URL's default. Start it with \`npm start\` to use its Redis.`;
  }
  for (const [key, value] of Object.entries(dev.values)) if (!env[key]) env[key] = value;
  return `using the Redis of the depesche dev running here (pid ${dev.pid}): ${dev.values.REDIS_URL}, settings from ${file}`;
}
