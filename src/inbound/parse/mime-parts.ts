import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Splitter, type MimeNode } from '@zone-eu/mailsplit';

/**
 * The leaf parts of a message with their transfer encoding undone, in order. An attached
 * message (`message/rfc822`) stays one part holding its raw bytes, whatever its
 * Content-Disposition: the report parsers need the original's header as written, where
 * mailparser would fold an inline attached message into the text.
 */
export interface MimePart {
  contentType: string;
  content: Buffer;
}

export async function leafParts(raw: Buffer): Promise<MimePart[]> {
  const parts: { node: MimeNode; chunks: Buffer[] }[] = [];
  let current: { node: MimeNode; chunks: Buffer[] } | undefined;
  await pipeline(
    Readable.from([raw]),
    new Splitter({ ignoreEmbedded: true, maxChildNodes: 500 }),
    new Writable({
      objectMode: true,
      write(chunk: MimeNode | { type: 'data' | 'body'; value: Buffer }, _encoding, done) {
        if (chunk.type === 'node') {
          current = chunk.multipart ? undefined : { node: chunk, chunks: [] };
          if (current) parts.push(current);
        } else if (chunk.type === 'body' && current) {
          current.chunks.push(chunk.value);
        }
        done();
      },
    }),
  );
  return Promise.all(
    parts.map(async ({ node, chunks }) => {
      const decoded: Buffer[] = [];
      await pipeline(Readable.from(chunks), node.getDecoder(), new Writable({ write: (c: Buffer, _e, done) => (decoded.push(c), done()) }));
      return { contentType: (node.contentType || 'text/plain').toLowerCase(), content: Buffer.concat(decoded) };
    }),
  );
}
