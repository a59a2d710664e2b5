import chardet from 'chardet';
import { DepescheError } from '../errors.ts';

/**
 * The biggest issue file Depesche reads. A mail is clipped by Gmail at about 102 KB of
 * HTML, so no real issue comes near this; the limit keeps a pasted data dump or a wrong
 * file from tying up a build or the preview.
 */
export const MAX_ISSUE_BYTES = 2 * 1024 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** How the detector's names read to an editor, with what their editor may call them. */
const FRIENDLY: Record<string, string> = {
  'ISO-8859-1': 'ISO-8859-1 / Windows-1252 (what many editors call "ANSI" or "Western")',
  'windows-1252': 'Windows-1252 (what many editors call "ANSI" or "Western")',
  'ISO-8859-15': 'ISO-8859-15 (Latin-9)',
  'UTF-16LE': 'UTF-16 (little-endian)',
  'UTF-16BE': 'UTF-16 (big-endian)',
  'UTF-32LE': 'UTF-32 (little-endian)',
  'UTF-32BE': 'UTF-32 (big-endian)',
};

/** 1-based line of the first byte sequence that is not UTF-8. */
function firstBadLine(bytes: Uint8Array): number {
  let line = 1;
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b === 0x0a) line++;
    const need = b < 0x80 ? 0 : b >= 0xc2 && b <= 0xdf ? 1 : b >= 0xe0 && b <= 0xef ? 2 : b >= 0xf0 && b <= 0xf4 ? 3 : -1;
    if (need < 0) return line;
    for (let k = 1; k <= need; k++) {
      const c = bytes[i + k];
      if (c === undefined || (c & 0xc0) !== 0x80) return line;
    }
    i += need + 1;
  }
  return line;
}

/**
 * Decodes an issue file. Issue files are UTF-8 (a BOM is allowed and dropped); anything
 * else is refused with the encoding it looks like, instead of turning every umlaut into
 * U+FFFD without a word.
 */
export function decodeIssueFile(bytes: Uint8Array, file: string): string {
  if (bytes.length > MAX_ISSUE_BYTES) {
    throw new DepescheError('E_CONTENT', `The file is ${(bytes.length / 1024 / 1024).toFixed(1)} MB; an issue file may be at most ${MAX_ISSUE_BYTES / 1024 / 1024} MB.`, {
      location: { file },
      hint: 'A mail over about 100 KB of HTML is clipped by Gmail anyway: shorten the issue or split it into several. Check that this is the right file.',
    });
  }
  const utf16 = (bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff);
  if (!utf16) {
    try {
      return utf8.decode(bytes);
    } catch {
      // fall through: say what it is instead
    }
  }
  const detected = chardet.detect(bytes);
  const looks = detected ? (FRIENDLY[detected] ?? detected) : 'an unknown encoding';
  // The location names the file; the message says what is wrong with it.
  throw new DepescheError('E_CONTENT', `The file is not UTF-8; it looks like ${looks}.`, {
    location: { file, line: utf16 ? 1 : firstBadLine(bytes) },
    hint: 'Save the file as UTF-8 (in most editors: "Save with encoding" or "Encoding → UTF-8"), then build again. Umlauts and quotes would otherwise come out garbled.',
  });
}
