import { readdirSync, readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/**
 * The one way campaign code runs Redis scripts. Each script is a file in `lua/`, named
 * `<name>-<number of keys>.lua`, or `<name>.lua` when the number of keys varies (the
 * caller passes them all). A line `--- @include "includes/<file>"` pastes that file in,
 * once per script. Every key a script touches arrives in KEYS; scripts never build key
 * names. (The same layout as BullMQ's `src/commands/`.)
 *
 * Registration goes through ioredis' `defineCommand`, which sends EVALSHA and falls back
 * to EVAL when a restarted Redis has forgotten the script.
 */

const LUA_DIR = new URL('./lua/', import.meta.url);
const INCLUDE = /^--- @include "([\w/.-]+)"\s*$/gm;

export type ScriptName =
  | 'create'
  | 'freeze'
  | 'abandon'
  | 'start'
  | 'transition'
  | 'update'
  | 'fanout-step'
  | 'batch-done'
  | 'park'
  | 'claim'
  | 'claim-many'
  | 'mark-many'
  | 'heartbeat';

interface ScriptFile {
  lua: string;
  /** Undefined for scripts that take any number of keys. */
  numberOfKeys: number | undefined;
  command: string;
}

let files: Map<ScriptName, ScriptFile> | undefined;

function expand(lua: string, seen: Set<string>): string {
  return lua.replace(INCLUDE, (_line, name: string) => {
    if (seen.has(name)) return '';
    seen.add(name);
    return expand(readFileSync(new URL(`${name}.lua`, LUA_DIR), 'utf8'), seen);
  });
}

function load(): Map<ScriptName, ScriptFile> {
  if (files) return files;
  files = new Map();
  for (const file of readdirSync(LUA_DIR)) {
    const match = /^([a-z-]+?)(?:-(\d+))?\.lua$/.exec(file);
    if (!match) continue;
    const [, name, keys] = match as unknown as [string, ScriptName, string | undefined];
    const lua = expand(readFileSync(new URL(file, LUA_DIR), 'utf8'), new Set());
    const command = `depesche_${name.replace(/-/g, '_')}`;
    files.set(name, { lua, numberOfKeys: keys === undefined ? undefined : Number(keys), command });
  }
  return files;
}

export interface Scripts {
  /** Runs a script with its keys and arguments; throws when the number of keys is wrong. */
  run<T = unknown>(name: ScriptName, keys: string[], args: (string | number)[]): Promise<T>;
}

const registered = new WeakSet<Redis>();

/** Defines every campaign script on a connection (once per connection) and returns the runner. */
export function campaignScripts(redis: Redis): Scripts {
  const scripts = load();
  if (!registered.has(redis)) {
    for (const { lua, numberOfKeys, command } of scripts.values()) {
      redis.defineCommand(command, numberOfKeys === undefined ? { lua } : { lua, numberOfKeys });
    }
    registered.add(redis);
  }
  const commands = redis as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>;
  return {
    run<T>(name: ScriptName, keys: string[], args: (string | number)[]): Promise<T> {
      const script = scripts.get(name);
      if (!script) throw new Error(`no Redis script ${name}.lua`);
      if (script.numberOfKeys === undefined) return commands[script.command]!(keys.length, ...keys, ...args) as Promise<T>;
      if (keys.length !== script.numberOfKeys) throw new Error(`${name}.lua takes ${script.numberOfKeys} keys, got ${keys.length}`);
      return commands[script.command]!(...keys, ...args) as Promise<T>;
    },
  };
}
