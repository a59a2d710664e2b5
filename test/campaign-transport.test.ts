import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { prepareEdition } from '../src/campaign/mime.ts';
import { mergeMarker } from '../src/render/merge.ts';
import { installFastDataStream, needsNoEscaping } from '../src/transport/fast-data-stream.ts';

// What SMTP needs of DATA (RFC 5321 4.5.2) as nodemailer does it: bare CR and bare LF
// become CRLF, a dot starting a line gets a second dot, and the data ends with CRLF.CRLF.
function reference(input: string): string {
  let out = input.replace(/\r\n|\r|\n/g, '\r\n').replace(/(^|\r\n)\./g, '$1..');
  out += out.endsWith('\r\n') ? '.\r\n' : '\r\n.\r\n';
  return out;
}

async function throughDataStream(chunks: Buffer[]): Promise<string> {
  const url = new URL('./smtp-connection/data-stream.js', import.meta.resolve('nodemailer'));
  const { default: DataStream } = (await import(url.href)) as { default: new () => NodeJS.ReadWriteStream };
  const stream = new DataStream();
  const out: Buffer[] = [];
  stream.on('data', (c: Buffer) => out.push(c));
  const done = new Promise((resolve) => stream.on('end', resolve));
  Readable.from(chunks).pipe(stream);
  await done;
  return Buffer.concat(out).toString('latin1');
}

function seeded(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

describe('fast path for SMTP DATA escaping', () => {
  it('is installed on the nodemailer module the SMTP transport uses', async () => {
    expect(await installFastDataStream()).toBe(true);
  });

  it('writes exactly what nodemailer would, for clean and dirty input in any chunking', async () => {
    await installFastDataStream();
    const random = seeded(42);
    const pieces = ['abc', 'x', '.', '..', '\r', '\n', '\r\n', '\r\n.', ' = ', 'line of text\r\n'];
    for (let round = 0; round < 300; round++) {
      const clean = round % 3 === 0;
      let text = '';
      const n = 1 + Math.floor(random() * 60);
      for (let i = 0; i < n; i++) text += clean ? 'line of text\r\n' : pieces[Math.floor(random() * pieces.length)]!;
      const bytes = Buffer.from(text, 'latin1');
      const chunks: Buffer[] = [];
      for (let at = 0; at < bytes.length; ) {
        const size = 1 + Math.floor(random() * 40);
        chunks.push(bytes.subarray(at, at + size));
        at += size;
      }
      expect(await throughDataStream(chunks), JSON.stringify(text)).toBe(reference(text));
    }
  });

  it('lets CRLF text without leading dots through and flags anything else', () => {
    expect(needsNoEscaping(Buffer.from('a\r\nb\r\n'), false)).toBe(true);
    expect(needsNoEscaping(Buffer.from('a\r\n.b'), false)).toBe(false);
    expect(needsNoEscaping(Buffer.from('.b'), false)).toBe(false);
    expect(needsNoEscaping(Buffer.from('a\nb'), false)).toBe(false);
    expect(needsNoEscaping(Buffer.from('a\rb'), false)).toBe(false);
    expect(needsNoEscaping(Buffer.from('\nb'), 0x0d)).toBe(true);
    expect(needsNoEscaping(Buffer.from('b'), 0x0d)).toBe(false);
    expect(needsNoEscaping(Buffer.from('.b'), 0x0a)).toBe(false);
  });

  it('gets message parts from the builder that need no escaping at all, so skipping their scan changes nothing', async () => {
    const edition = {
      slug: 's', lang: 'de' as const, subject: 'Betreff', preheader: '', title: 't',
      greeting: { named: 'Hallo {name},', anonymous: 'Hallo,' },
      html: `<p>.dot</p>\r.bare CR\n.leading\n${mergeMarker('name')}\n.${mergeMarker('unsubscribeUrl')}\r\n`,
      text: `.a\r\n.${mergeMarker('greeting')}\rb\n`,
    };
    const prepared = prepareEdition(edition, { mailFrom: 'A <a@example.org>', publicUrl: 'https://x.example', secret: 'k'.repeat(40), campaignId: 'c', list: 'l' });
    const message = prepared.build({ id: 'i', email: 'b@example.org', name: '.Dot Name', lang: 'de' }, 'r');
    for (const part of message.parts.filter((p) => p.length > 0)) {
      expect(part[part.length - 1]).toBe(0x0a);
      expect(part[0]).not.toBe(0x2e);
      expect(needsNoEscaping(part, 0x0a)).toBe(true);
    }
    const raw = message.raw.toString('latin1');
    expect(await throughDataStream(message.parts)).toBe(reference(raw));
    expect(reference(raw)).toBe(`${raw}.\r\n`);
  });
});
