import { readFileSync } from 'node:fs';
import type { ChainableCommander, Redis } from 'ioredis';
import { DepescheError } from '../errors.ts';

/**
 * Redis scripts as files: each operation is one `<name>.lua` next to the module that owns
 * it, and every call passes each key it touches in KEYS, so nothing builds a key name inside
 * Lua and Redis Cluster sees every key a script uses. A line `-- @include <name>` (or
 * `--- @include "includes/<name>"`, as the campaign scripts write it) is replaced by
 * `includes/<name>.lua` from the same folder, once per script, for helpers several scripts
 * share. This is the one script loader: campaign/scripts.ts runs the campaign's through it.
 *
 * Scripts go to Redis with EVALSHA; after a restart emptied the script cache, ioredis
 * falls back to EVAL on its own.
 */
export class RedisScripts<Name extends string> {
  readonly #commands: Record<Name, string>;

  /**
   * @param folder   the folder holding `<name>.lua` (a file: URL, e.g. `new URL('./scripts/', import.meta.url)`)
   * @param names    the scripts this owner runs
   * @param owner    a short word that keeps command names apart from other owners' scripts
   */
  constructor(folder: URL, names: readonly Name[], owner: string) {
    this.#commands = {} as Record<Name, string>;
    for (const name of names) {
      this.#commands[name] = `depesche_${owner}_${name.replace(/[^A-Za-z0-9]/g, '_')}`;
      sources.set(this.#commands[name], () => loadScript(folder, name));
    }
  }

  /** Runs one script on a connection (defining it there the first time). */
  run(redis: Redis, name: Name, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown> {
    const command = this.#define(redis, name);
    return (redis as unknown as Record<string, (...a: (string | number)[]) => Promise<unknown>>)[command]!(keys.length, ...keys, ...args);
  }

  /** A pipeline on `redis` that can queue this set's scripts (see {@link queue}). */
  pipeline(redis: Redis): ChainableCommander {
    this.#defineAll(redis);
    return redis.pipeline();
  }

  /** Queues one script call on a pipeline made by {@link pipeline}. */
  queue(pipeline: ChainableCommander, name: Name, keys: readonly string[], args: readonly (string | number)[]): void {
    (pipeline as unknown as Record<string, (...a: (string | number)[]) => unknown>)[this.#commands[name]]!(keys.length, ...keys, ...args);
  }

  #define(redis: Redis, name: Name): string {
    this.#defineAll(redis);
    return this.#commands[name];
  }

  // A pipeline copies the connection's commands when it is made, so all of a set's scripts
  // are defined together, before any pipeline needs one.
  #defineAll(redis: Redis): void {
    for (const command of Object.values<string>(this.#commands)) {
      if (!(command in redis)) redis.defineCommand(command, { lua: sourceOf(command) });
    }
  }
}

const sources = new Map<string, () => string>();
const loaded = new Map<string, string>();

function sourceOf(command: string): string {
  let text = loaded.get(command);
  if (text === undefined) {
    text = sources.get(command)!();
    loaded.set(command, text);
  }
  return text;
}

function read(file: URL, what: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (cause) {
    throw new DepescheError('E_CONFIG', `The Redis script ${what} is missing (${file.pathname}).`, {
      hint: 'The installation is incomplete; reinstall Depesche (its .lua files ship next to the .ts sources).',
      cause,
    });
  }
}

const INCLUDE = /^---?\s*@include\s+"?(?:includes\/)?([\w-]+)"?\s*$/gm;

/** The text of `<folder>/<name>.lua` with its includes expanded (each at most once). */
export function loadScript(folder: URL, name: string): string {
  const included = new Set<string>();
  const expand = (text: string): string =>
    text.replace(INCLUDE, (_line, include: string) => {
      if (included.has(include)) return '';
      included.add(include);
      return expand(read(new URL(`includes/${include}.lua`, folder), `include ${include}`));
    });
  return expand(read(new URL(`${name}.lua`, folder), name));
}
