import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Files served by the apps, read once into memory. Requests can only name an entry of
 * a table like this, never a path, so nothing else on disk is reachable.
 */
export interface Asset {
  type: string;
  body: Buffer;
  etag: string;
}

/** The one stylesheet and the icon the preview and the ops console share. */
export const STYLESHEET = 'depesche.css';
export const FAVICON = 'favicon.svg';

export function loadAsset(url: URL, type: string): Asset {
  const body = readFileSync(url);
  return { type, body, etag: `"${createHash('sha1').update(body).digest('base64url').slice(0, 16)}"` };
}

export function loadSharedAssets(): Map<string, Asset> {
  return new Map([
    [STYLESHEET, loadAsset(new URL(`./assets/${STYLESHEET}`, import.meta.url), 'text/css; charset=utf-8')],
    [FAVICON, loadAsset(new URL(`./assets/${FAVICON}`, import.meta.url), 'image/svg+xml')],
  ]);
}

/** Answers with the asset, or 304 when the browser has this version already. */
export function sendAsset(request: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
  return reply.type(asset.type).header('etag', asset.etag).header('cache-control', 'no-cache').header('x-content-type-options', 'nosniff').send(asset.body);
}
