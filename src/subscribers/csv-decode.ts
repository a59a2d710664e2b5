import { isUtf8 } from 'node:buffer';
import { Readable } from 'node:stream';
import chardet from 'chardet';
import iconv from 'iconv-lite';
import { DepescheError } from '../errors.ts';

/**
 * Bytes of a CSV file to text, in whatever encoding the file was saved in.
 *
 * Spreadsheets save CSV in UTF-8 only when asked to: German Excel's plain "CSV" is
 * Windows-1252, and its "Unicode text" is UTF-16 with a byte-order mark. Reading such a
 * file as UTF-8 turns "Jürgen" into "J�rgen" without a word, so the encoding is decided
 * before the first row is read:
 *
 * 1. a byte-order mark names it (UTF-8, UTF-16LE, UTF-16BE);
 * 2. text that is valid UTF-8 is UTF-8 (other encodings' umlauts never form valid UTF-8),
 *    and so is text that is mostly UTF-8 with a few stray bytes (a file pasted together
 *    from two sources): rows holding the stray bytes are rejected, the rest read right;
 * 3. otherwise chardet ranks the single-byte encodings. Latin-1 near the top is read as
 *    Windows-1252, which is what Excel writes (Latin-1 plus „“–€); another encoding the
 *    detector is sure of is read as that; anything else is refused, naming the candidates
 *    and the `encoding` option.
 *
 * The decision reads a sample from the start and waits for the first non-ASCII bytes (up
 * to {@link ASCII_WINDOW} of plain ASCII): until then every encoding reads the same.
 * Everything streams; only the sample is held.
 */

/** U+FFFD: what a decoder writes for bytes that are not valid in the encoding it reads. */
export const REPLACEMENT_CHARACTER = '\uFFFD';

/** Bytes looked at after the first non-ASCII byte before deciding. */
const SAMPLE_AFTER_FIRST_NON_ASCII = 64 * 1024;
/** Plain ASCII buffered before giving up the wait; a later decision is still made, mid-stream. */
export const ASCII_WINDOW = 1024 * 1024;
/** Below this confidence (0–100) the detector is guessing; the import then asks. */
const SURE = 50;
/** A Latin-1 candidate this close to the top wins: it is what German Excel saves. */
const WESTERN_MARGIN = 10;
const WESTERN = new Set(['ISO-8859-1', 'windows-1252', 'ISO-8859-15']);

export type EncodingSource = 'bom' | 'utf-8' | 'detected' | 'named';

export interface CsvEncoding {
  /** As iconv-lite names it, e.g. `utf-8`, `windows-1252`, `utf-16le`. */
  name: string;
  source: EncodingSource;
  /** A sentence for the summary when the file was not plain UTF-8. */
  note?: string;
}

export interface DecodeOptions {
  /** An encoding iconv-lite knows (`windows-1252`, `latin1`, `utf-16le` …), or `auto` (the default). */
  encoding?: string;
  /** Called as bytes are read, for a progress bar over the file's size. */
  onBytes?: (bytes: number) => void;
}

export interface DecodedCsv {
  /** The file's text, in string chunks. */
  text: Readable;
  /** Decided before `decodeCsv` resolves, except for a file that is plain ASCII for its first megabyte. */
  encoding: CsvEncoding;
}

const BOMS: [Buffer, string, string][] = [
  [Buffer.from([0xef, 0xbb, 0xbf]), 'utf-8', 'UTF-8'],
  [Buffer.from([0xff, 0xfe]), 'utf-16le', 'UTF-16 (little-endian)'],
  [Buffer.from([0xfe, 0xff]), 'utf-16be', 'UTF-16 (big-endian)'],
];

const ENCODING_HINT =
  'Save it from the spreadsheet as "CSV UTF-8", or name its encoding: --encoding windows-1252 ' +
  '(Excel on Western European Windows, Latin-1), or any other name iconv-lite knows (windows-1250, iso-8859-2, utf-16le …).';

/** Whether a buffer holds bytes above 0x7f (where encodings start to differ). */
function firstNonAscii(buffer: Buffer): number {
  for (let i = 0; i < buffer.length; i++) if (buffer[i]! > 0x7f) return i;
  return -1;
}

/**
 * Whether text that is not valid UTF-8 still is mostly UTF-8: more characters decode from
 * multi-byte sequences than bytes fail to. (Windows-1252 umlauts, 0xC4–0xFC followed by
 * letters, never form such sequences.)
 */
function mostlyUtf8(sample: Buffer): boolean {
  let valid = 0;
  let invalid = 0;
  for (const c of new TextDecoder('utf-8').decode(sample)) {
    if (c === REPLACEMENT_CHARACTER) invalid++;
    else if (c > '\u007f') valid++;
  }
  return valid > invalid;
}

/** A UTF-8 check that forgives a sequence cut off by the end of the sample. */
function looksUtf8(sample: Buffer, complete: boolean): boolean {
  if (isUtf8(sample)) return true;
  if (complete) return false;
  for (let cut = 1; cut <= 3 && cut < sample.length; cut++) if (isUtf8(sample.subarray(0, sample.length - cut))) return true;
  return false;
}

/**
 * Decides the encoding of bytes known not to be UTF-8 and to hold non-ASCII text, or
 * throws an error that names the candidates.
 */
function detect(sample: Buffer, where: string, late = false): CsvEncoding {
  // Mid-file, the rows before were imported already; importing again changes nothing for them.
  const hint = late ? `${ENCODING_HINT} The rows before this point are imported; importing the file again changes nothing for them.` : ENCODING_HINT;
  if (sample.includes(0)) {
    throw new DepescheError('E_INPUT', `${where} holds NUL bytes, so it is not a text file in a single-byte encoding; it may be UTF-16 without a byte-order mark.`, {
      hint: late ? hint : 'Name its encoding, e.g. --encoding utf-16le, or save it as "CSV UTF-8".',
    });
  }
  const candidates = chardet.analyse(sample).filter((m) => iconv.encodingExists(m.name));
  const top = candidates[0];
  const western = candidates.find((m) => WESTERN.has(m.name));
  const ranking = candidates
    .slice(0, 3)
    .map((m) => `${m.name} ${m.confidence} %`)
    .join(', ');
  if (western && western.confidence >= SURE && top && top.confidence - western.confidence <= WESTERN_MARGIN) {
    return {
      name: 'windows-1252',
      source: 'detected',
      note: `not UTF-8; read as Windows-1252 (Latin-1, what Excel saves on Western European Windows; detector: ${ranking}). If names look wrong, import again with --encoding <name>.`,
    };
  }
  if (top && top.confidence >= SURE) {
    return { name: top.name, source: 'detected', note: `not UTF-8; read as ${top.name} (detector: ${ranking}). If names look wrong, import again with --encoding <name>.` };
  }
  throw new DepescheError('E_INPUT', `${where} is not UTF-8, and its encoding cannot be told for sure (detector: ${ranking || 'no candidate'}).`, { hint });
}

function named(encoding: string): CsvEncoding {
  if (!iconv.encodingExists(encoding)) {
    throw new DepescheError('E_INPUT', `Unknown encoding "${encoding}".`, {
      hint: 'Use a name iconv-lite knows: utf-8, windows-1252, latin1, iso-8859-15, windows-1250, utf-16le …, or auto.',
    });
  }
  return { name: encoding, source: 'named' };
}

/**
 * Reads the start of `input`, decides its encoding (see the module comment) and returns
 * the decoded text as a stream. Rejects before any row is read when the encoding cannot
 * be told, so nothing is imported from a file that would be read wrong.
 */
export async function decodeCsv(input: Readable, options: DecodeOptions = {}): Promise<DecodedCsv> {
  const chunks = input[Symbol.asyncIterator]() as AsyncIterator<Buffer | string>;
  let bytes = 0;
  const read = async (): Promise<Buffer | undefined> => {
    const next = await chunks.next();
    if (next.done) return undefined;
    const chunk = typeof next.value === 'string' ? Buffer.from(next.value) : next.value;
    bytes += chunk.length;
    options.onBytes?.(bytes);
    return chunk;
  };

  // The sample: until the first non-ASCII byte plus a window after it, or the ASCII limit.
  const held: Buffer[] = [];
  let heldBytes = 0;
  let nonAsciiAt = -1;
  let ended = false;
  for (;;) {
    const chunk = await read();
    if (chunk === undefined) {
      ended = true;
      break;
    }
    if (nonAsciiAt < 0) {
      const at = firstNonAscii(chunk);
      if (at >= 0) nonAsciiAt = heldBytes + at;
    }
    held.push(chunk);
    heldBytes += chunk.length;
    if (nonAsciiAt >= 0 ? heldBytes - nonAsciiAt >= SAMPLE_AFTER_FIRST_NON_ASCII : heldBytes >= ASCII_WINDOW) break;
  }
  let sample = Buffer.concat(held);

  let encoding: CsvEncoding;
  const requested = options.encoding && options.encoding !== 'auto' ? options.encoding : undefined;
  const bom = BOMS.find(([mark]) => sample.subarray(0, mark.length).equals(mark));
  if (requested) {
    encoding = named(requested);
  } else if (bom) {
    encoding = { name: bom[1], source: 'bom', ...(bom[1] === 'utf-8' ? {} : { note: `read as ${bom[2]}, as its byte-order mark says.` }) };
  } else if (nonAsciiAt < 0 || looksUtf8(sample.subarray(nonAsciiAt), ended)) {
    // Plain ASCII so far reads the same in every encoding this could still turn out to be.
    encoding = { name: 'utf-8', source: 'utf-8' };
  } else if (mostlyUtf8(sample.subarray(nonAsciiAt))) {
    encoding = { name: 'utf-8', source: 'utf-8', note: 'UTF-8, but some rows hold bytes that are not: those rows are rejected, with their row numbers in the report.' };
  } else {
    encoding = detect(sample.subarray(nonAsciiAt), 'The file');
  }
  // iconv-lite drops a byte-order mark of the encoding it decodes.
  let decoder = iconv.getDecoder(encoding.name);
  // Undecided: only ASCII seen so far. A later non-ASCII chunk decides it then.
  let undecided = !requested && !bom && nonAsciiAt < 0 && !ended;
  let offset = 0;

  async function* text(): AsyncGenerator<string> {
    let chunk: Buffer | undefined = sample;
    sample = Buffer.alloc(0);
    while (chunk !== undefined) {
      if (undecided) {
        const at = firstNonAscii(chunk);
        if (at >= 0) {
          undecided = false;
          // Decide on this chunk and what follows, as at the start.
          let window = chunk.subarray(at);
          const more: Buffer[] = [chunk];
          let done = false;
          while (window.length < SAMPLE_AFTER_FIRST_NON_ASCII) {
            const next = await read();
            if (next === undefined) {
              done = true;
              break;
            }
            more.push(next);
            window = Buffer.concat([window, next]);
          }
          if (!looksUtf8(window, done) && !mostlyUtf8(window)) {
            encoding = detect(window, `The file (plain ASCII for its first ${(offset + at).toLocaleString('en')} bytes)`, true);
            decoder = iconv.getDecoder(encoding.name);
          }
          chunk = Buffer.concat(more);
        }
      }
      offset += chunk.length;
      const decoded = decoder.write(chunk);
      if (decoded) yield decoded;
      chunk = await read();
    }
    const rest = decoder.end();
    if (rest) yield rest;
  }

  return {
    text: Readable.from(text(), { objectMode: false, encoding: 'utf8' }),
    get encoding() {
      return encoding;
    },
  };
}
