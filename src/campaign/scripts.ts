import { readdirSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { RedisScripts } from '../config/redis-scripts.ts';

/**
 * The campaign's Redis scripts, run through the one script loader (config/redis-scripts.ts).
 * Each script is a file in `lua/`, named `<name>-<number of keys>.lua`, or `<name>.lua`
 * when the number of keys varies (the caller passes them all); the number in the name is
 * checked on every call. Includes live in `lua/includes/`. Every key a script touches
 * arrives in KEYS; scripts never build key names.
 */

const LUA_DIR = new URL('./lua/', import.meta.url);

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
  /** The file name without `.lua`, which is the loader's name for it. */
  file: string;
  /** Undefined for scripts that take any number of keys. */
  numberOfKeys: number | undefined;
}

let loaded: { files: Map<string, ScriptFile>; scripts: RedisScripts<string> } | undefined;

function load(): NonNullable<typeof loaded> {
  if (loaded) return loaded;
  const files = new Map<string, ScriptFile>();
  for (const entry of readdirSync(LUA_DIR)) {
    const match = /^([a-z-]+?)(?:-(\d+))?\.lua$/.exec(entry);
    if (!match) continue;
    files.set(match[1]!, { file: entry.slice(0, -'.lua'.length), numberOfKeys: match[2] === undefined ? undefined : Number(match[2]) });
  }
  loaded = { files, scripts: new RedisScripts(LUA_DIR, [...files.values()].map((f) => f.file), 'campaign') };
  return loaded;
}

export interface Scripts {
  /** Runs a script with its keys and arguments; throws when the number of keys is wrong. */
  run<T = unknown>(name: ScriptName, keys: string[], args: (string | number)[]): Promise<T>;
}

/** The runner of every campaign script on one connection (each defined there on first use). */
export function campaignScripts(redis: Redis): Scripts {
  const { files, scripts } = load();
  return {
    run<T>(name: ScriptName, keys: string[], args: (string | number)[]): Promise<T> {
      const script = files.get(name);
      if (!script) throw new Error(`no Redis script ${name}.lua`);
      if (script.numberOfKeys !== undefined && keys.length !== script.numberOfKeys) {
        throw new Error(`${script.file}.lua takes ${script.numberOfKeys} keys, got ${keys.length}`);
      }
      return scripts.run(redis, script.file, keys, args) as Promise<T>;
    },
  };
}
