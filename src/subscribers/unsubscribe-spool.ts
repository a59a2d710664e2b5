import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Unsubscribes that arrive while Redis is unreachable. A reader who presses "unsubscribe"
 * (or whose mail provider sends the RFC 8058 one-click POST for them) must not be lost
 * because the database is down, and Gmail and Yahoo want it honoured within two days.
 * So the public app writes it here, an append-only JSON-lines file flushed to disk before
 * the answer, and applies it once Redis is back.
 *
 * Exactly once: every entry has a random id, and applying it sets a once-key in Redis in
 * the same script as the change (redis-store.ts), so a replay after a crash mid-drain
 * changes nothing twice. Draining first renames the file, so entries that arrive meanwhile
 * go to a fresh one; a drain that dies leaves its renamed file for the next drain.
 */
export interface SpooledUnsubscribe {
  /** Random; the once-key it is applied under. */
  id: string;
  at: string;
  /** Subscriber id from the link's token. */
  sub: string;
  /** Campaign the mail came from (its list is looked up when the entry is applied). */
  cmp?: string;
  /** `list`: leave the list the mail came from; `all`: stop every list. */
  scope: 'list' | 'all';
  via: string;
  ip?: string;
}

const LIVE = 'unsubscribes.jsonl';
const DRAINING = /^unsubscribes\.draining-[\w.-]+\.jsonl$/;

export interface DrainResult {
  applied: number;
  /** Entries the apply step refused for good (e.g. a subscriber erased since); logged, not retried. */
  dropped: number;
  /** Entries left for the next drain because applying them failed (Redis went away again). */
  kept: number;
}

export class UnsubscribeSpool {
  readonly dir: string;
  #draining: Promise<DrainResult> | undefined;

  constructor(dir: string) {
    this.dir = dir;
  }

  /** Appends one entry and flushes it to disk before resolving: once this returns, it is not lost. */
  async append(entry: Omit<SpooledUnsubscribe, 'id' | 'at'>): Promise<SpooledUnsubscribe> {
    const full: SpooledUnsubscribe = { id: randomBytes(12).toString('base64url'), at: new Date().toISOString(), ...entry };
    await mkdir(this.dir, { recursive: true });
    // O_APPEND: concurrent appends from several processes never interleave within a line this short.
    const file = await open(join(this.dir, LIVE), 'a', 0o600);
    try {
      await file.write(`${JSON.stringify(full)}\n`);
      await file.sync();
    } finally {
      await file.close();
    }
    return full;
  }

  /** Whether anything waits to be applied. */
  async pending(): Promise<boolean> {
    try {
      return (await readdir(this.dir)).some((name) => name === LIVE || DRAINING.test(name));
    } catch {
      return false;
    }
  }

  /**
   * Applies every waiting entry with `apply`, oldest first. `apply` resolves `true` when the
   * entry is done (applied now or before), `false` to drop it for good; a throw keeps it
   * (and everything after it in that file) for the next drain. One drain at a time per process.
   */
  drain(apply: (entry: SpooledUnsubscribe) => Promise<boolean>, onBad?: (line: string) => void): Promise<DrainResult> {
    this.#draining ??= this.#drain(apply, onBad).finally(() => (this.#draining = undefined));
    return this.#draining;
  }

  async #drain(apply: (entry: SpooledUnsubscribe) => Promise<boolean>, onBad?: (line: string) => void): Promise<DrainResult> {
    const result: DrainResult = { applied: 0, dropped: 0, kept: 0 };
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch {
      return result;
    }
    if (names.includes(LIVE)) {
      const claimed = `unsubscribes.draining-${process.pid}-${Date.now()}-${randomBytes(3).toString('hex')}.jsonl`;
      try {
        await rename(join(this.dir, LIVE), join(this.dir, claimed));
        names.push(claimed);
      } catch {
        // Another process claimed it first.
      }
    }
    for (const name of names.filter((n) => DRAINING.test(n)).sort()) {
      const path = join(this.dir, name);
      let text: string;
      try {
        text = await readFile(path, 'utf8');
      } catch {
        continue; // drained by another process meanwhile
      }
      const lines = text.split('\n').filter((line) => line.trim() !== '');
      let done = 0;
      for (; done < lines.length; done++) {
        let entry: SpooledUnsubscribe;
        try {
          entry = JSON.parse(lines[done]!) as SpooledUnsubscribe;
        } catch {
          // A line cut short by a crash while it was written: the answer was never sent.
          onBad?.(lines[done]!);
          continue;
        }
        try {
          if (await apply(entry)) result.applied++;
          else result.dropped++;
        } catch {
          break;
        }
      }
      if (done < lines.length) {
        // Keep the rest in this file, to be tried again.
        result.kept += lines.length - done;
        const rest = await open(`${path}.tmp`, 'w', 0o600);
        await rest.write(`${lines.slice(done).join('\n')}\n`);
        await rest.sync();
        await rest.close();
        await rename(`${path}.tmp`, path);
        break;
      }
      await rm(path, { force: true });
    }
    return result;
  }
}
