import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';

/**
 * The preview's own files, read once into memory. Requests can only name an entry of
 * this table, never a path, so nothing else on disk is reachable through /assets/.
 */
export interface Asset {
  type: string;
  body: Buffer;
  etag: string;
}

const files: Record<string, string> = {
  'preview.css': 'text/css; charset=utf-8',
  'preview.js': 'text/javascript; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [name, type] of Object.entries(files)) {
    const body = readFileSync(new URL(`./assets/${name}`, import.meta.url));
    assets.set(name, { type, body, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"` });
  }
  return assets;
}
