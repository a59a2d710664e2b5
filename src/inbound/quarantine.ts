import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Quarantine, ReturnSource } from './types.ts';

/**
 * Keeps unreadable messages in a directory: `<time>-<random>.eml` with the bytes as they
 * arrived and a `.json` note beside it (why, from where, the envelope). Files are readable
 * by the owner only: bounces carry readers' addresses and the mail they were sent.
 */
export class DirectoryQuarantine implements Quarantine {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  async keep(raw: Buffer, note: { reason: string; source: ReturnSource; envelope?: { from: string; to: string[] } }): Promise<string> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const name = `${new Date().toISOString().replace(/[:.]/g, '-')}-${randomBytes(4).toString('hex')}`;
    const path = join(this.dir, `${name}.eml`);
    // The note first: a crash in between leaves a note without a message, never a message without a note.
    await writeFile(join(this.dir, `${name}.json`), `${JSON.stringify({ ...note, keptAt: new Date().toISOString(), bytes: raw.length }, null, 2)}\n`, {
      mode: 0o600,
      flag: 'wx',
    });
    await writeFile(path, raw, { mode: 0o600, flag: 'wx' });
    return path;
  }
}
