/**
 * Buffers known to be SMTP-clean: whole CRLF lines, no bare CR or LF, no line starting
 * with a dot. The campaign's MIME builder marks what it makes; the SMTP client then writes
 * such a message without looking for dots to stuff, and the DKIM signer skips checking its
 * line ends. Anything unmarked is checked (and fixed if needed) as usual, so a mark only
 * ever saves work; it never changes bytes.
 */
const clean = new WeakSet<Buffer>();

export function markCanonical(...buffers: Buffer[]): void {
  for (const buffer of buffers) clean.add(buffer);
}

export function isCanonical(buffer: Buffer): boolean {
  return clean.has(buffer);
}

const CR = 0x0d;
const LF = 0x0a;

/**
 * True when every line end is CRLF (no bare CR, no bare LF). One native `indexOf` per line:
 * about 30 µs for a 70 KB newsletter, where a byte loop in JavaScript takes about 175 µs.
 */
export function hasOnlyCrlf(buffer: Buffer): boolean {
  let lines = 0;
  for (let i = buffer.indexOf(LF); i !== -1; i = buffer.indexOf(LF, i + 1)) {
    if (i === 0 || buffer[i - 1] !== CR) return false;
    lines++;
  }
  // Each CR found above sits before its LF; any other CR is bare.
  let crs = 0;
  for (let i = buffer.indexOf(CR); i !== -1; i = buffer.indexOf(CR, i + 1)) {
    if (buffer[i + 1] !== LF) return false;
    if (++crs > lines) return false;
  }
  return true;
}

/** The same bytes with every bare CR and bare LF turned into CRLF. */
export function toCrlf(buffer: Buffer): Buffer {
  return Buffer.from(buffer.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n'), 'latin1');
}
