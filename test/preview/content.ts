import { cp, mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const repo = resolve(import.meta.dirname, '../..');

export interface ContentCopy {
  dir: string;
  remove(): Promise<void>;
}

/** The repo's issues/, templates/ and locales/ in a temp folder, so tests may edit and break them. */
export async function copyContent(): Promise<ContentCopy> {
  const dir = await mkdtemp(join(tmpdir(), 'depesche-preview-'));
  for (const part of ['issues', 'templates', 'locales']) {
    await cp(join(repo, part), join(dir, part), { recursive: true });
  }
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** GET with the path exactly as given: fetch() would resolve `..` before sending it. */
export async function rawGet(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; body: string }> {
  const url = new URL(base);
  return new Promise((resolveRequest, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolveRequest({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end();
  });
}
