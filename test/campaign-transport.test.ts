import { describe, expect, it } from 'vitest';
import { prepareEdition } from '../src/campaign/mime.ts';
import { mergeMarker } from '../src/render/merge.ts';
import { crlfLines, dotStuffed } from '../src/transport/smtp-client.ts';

// What SMTP needs of DATA (RFC 5321 4.5.2): bare CR and bare LF become CRLF, a dot
// starting a line gets a second dot, and the data ends with CRLF.CRLF.
function reference(input: string): string {
  let out = input.replace(/\r\n|\r|\n/g, '\r\n').replace(/(^|\r\n)\./g, '$1..');
  out += out.endsWith('\r\n') ? '.\r\n' : '\r\n.\r\n';
  return out;
}

/** What the campaign transport's SMTP client writes after DATA for these parts. */
function onTheWire(parts: Buffer[]): string {
  return `${Buffer.concat(dotStuffed(crlfLines(parts))).toString('latin1')}.\r\n`;
}

function seeded(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
}

describe('campaign messages on the wire (the SMTP client, no patched nodemailer)', () => {
  it('writes exactly what SMTP needs, for clean and dirty input in any chunking', () => {
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
      expect(onTheWire(chunks), JSON.stringify(text)).toBe(reference(text));
    }
  });

  it("writes the builder's parts as they are, even from dots, bare CRs and LFs in the edition and the values", () => {
    const edition = {
      slug: 's', lang: 'de' as const, subject: 'Betreff', preheader: '', title: 't',
      greeting: { named: 'Hallo {name},', anonymous: 'Hallo,' },
      html: `<p>.dot</p>\r.bare CR\n.leading\n${mergeMarker('name')}\n.${mergeMarker('unsubscribeUrl')}\r\n`,
      text: `.a\r\n.${mergeMarker('greeting')}\rb\n`,
    };
    const prepared = prepareEdition(edition, { mailFrom: 'A <a@example.org>', publicUrl: 'https://x.example', secret: 'k'.repeat(40), campaignId: 'c', list: 'l' });
    const message = prepared.build({ id: 'i', email: 'b@example.org', name: '.Dot Name', lang: 'de' }, 'r');
    const parts = message.parts;
    for (const part of parts.filter((p) => p.length > 0)) {
      expect(part[part.length - 1]).toBe(0x0a);
      expect(part[0]).not.toBe(0x2e);
    }
    // Nothing copied or rewritten: the very buffers go out.
    dotStuffed(crlfLines(parts)).forEach((part, i) => expect(part).toBe(parts[i]));
    const raw = message.raw.toString('latin1');
    expect(onTheWire(parts)).toBe(reference(raw));
    expect(reference(raw)).toBe(`${raw}.\r\n`);
  });
});
