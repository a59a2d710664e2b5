import type { Transform, TransformCallback } from 'node:stream';
import { isCanonical, markCanonical } from './canonical.ts';

/**
 * nodemailer's SMTP DATA stream checks every byte of every message in JavaScript for a
 * dot to stuff or a bare CR/LF to fix. For 70 KB newsletters that loop was the largest
 * cost of a send (about 1.5 ms per message, more than building it). Messages from the
 * campaign builder already have CRLF line ends and no line starting with a dot, so this
 * adds a fast path: native `indexOf` over the line ends proves a chunk needs no change
 * and it passes through untouched. Any chunk that does need a change goes to nodemailer's
 * own code, so the output is byte for byte what nodemailer writes (tested).
 */

type DataStreamLike = Transform & { lastByte: number | false; inByteCount: number; outByteCount: number };
type TransformFn = (this: DataStreamLike, chunk: Buffer | string, encoding: BufferEncoding, done: TransformCallback) => void;

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;

/** True when nodemailer's escaping would leave `chunk` unchanged, given the byte before it. */
export function needsNoEscaping(chunk: Buffer, lastByte: number | false): boolean {
  if (chunk.length === 0) return true;
  const first = chunk[0]!;
  if (lastByte === CR && first !== LF) return false;
  if (first === DOT && (lastByte === LF || lastByte === false)) return false;
  for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
    if ((i === 0 ? lastByte : chunk[i - 1]) !== CR) return false;
    if (chunk[i + 1] === DOT) return false;
  }
  // A CR followed by anything but LF (a CR at the very end is settled by the next chunk).
  for (let i = chunk.indexOf(CR); i !== -1 && i < chunk.length - 1; i = chunk.indexOf(CR, i + 1)) {
    if (chunk[i + 1] !== LF) return false;
  }
  return true;
}

let installed = false;
export { markCanonical };

/**
 * Installs the fast path once per process, on the module nodemailer's ESM build imports;
 * a nodemailer without that file is left alone.
 */
export async function installFastDataStream(): Promise<boolean> {
  if (installed) return true;
  try {
    const url = new URL('./smtp-connection/data-stream.js', import.meta.resolve('nodemailer'));
    const mod = (await import(url.href)) as { default?: { prototype: { _transform: TransformFn } } };
    const DataStream = mod.default;
    const original = DataStream?.prototype._transform;
    if (!DataStream || typeof original !== 'function') return false;
    DataStream.prototype._transform = function (chunk, encoding, done) {
      const trusted = Buffer.isBuffer(chunk) && isCanonical(chunk) && this.lastByte !== 0x0d && chunk[0] !== 0x0a && chunk[0] !== DOT;
      if (Buffer.isBuffer(chunk) && (trusted || needsNoEscaping(chunk, this.lastByte))) {
        if (chunk.length === 0) return done();
        this.inByteCount += chunk.length;
        this.outByteCount += chunk.length;
        this.lastByte = chunk[chunk.length - 1]!;
        this.push(chunk);
        return done();
      }
      return original.call(this, chunk, encoding, done);
    };
    installed = true;
    return true;
  } catch {
    return false;
  }
}

await installFastDataStream();
