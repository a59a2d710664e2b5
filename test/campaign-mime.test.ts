import { generateKeyPairSync, createHash, createVerify } from 'node:crypto';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { describe, expect, it } from 'vitest';
import type { FrozenEdition } from '../src/campaign/campaigns.ts';
import { prepareEdition, type MessageSettings } from '../src/campaign/mime.ts';
import { encode as qpEncode, wrap as qpWrap } from 'nodemailer/lib/qp';
import { compileMerge, fillMerge, mergeMarker, sampleMergeValues } from '../src/render/merge.ts';
import { verifyToken } from '../src/subscribers/tokens.ts';
import { escapeHtml } from '../src/core/escape.ts';
import { DKIM_HEADERS } from '../src/transport/smtp.ts';
import { ReturnAddresses } from '../src/inbound/return-addresses.ts';

const secret = 'x'.repeat(40);
const settings: MessageSettings = {
  mailFrom: 'Die Depesche <briefing@example.org>',
  publicUrl: 'https://news.example.org/',
  secret,
  campaignId: 'ctest1',
  list: 'weekly',
  listIdDomain: 'briefing.example.org',
};

// Long lines, non-ASCII, trailing spaces, '=' signs, a leading dot, and markers next to
// multi-byte characters: everything quoted-printable splicing could get wrong.
const longLine = 'Künstliche Intelligenz verändert Chinas Industrie — 人工智能 '.repeat(40);
const html = [
  '<!doctype html><html lang="de"><body style="margin:0">',
  `<p>${mergeMarker('greeting')}</p>`,
  `<p>${longLine}</p>`,
  `<p>Name: ${mergeMarker('name')}ü</p>   `,
  '.leading dot line',
  `<a href="${mergeMarker('unsubscribeUrl')}">Abmelden</a> <a href="${mergeMarker('preferencesUrl')}">Einstellungen</a>`,
  `<a href="${mergeMarker('viewOnlineUrl')}">Online</a>=3D<a href="${mergeMarker('archiveUrl')}">Archiv</a>`,
  `<a href="${mergeMarker('subscribeUrl')}">Abonnieren</a>${mergeMarker('unsubscribeUrl')}`,
  '</body></html>',
].join('\n');
const text = `${mergeMarker('greeting')}\n\n${longLine}\nTrailing space \nAbmelden: ${mergeMarker('unsubscribeUrl')}\nEnde`;

const edition: FrozenEdition = {
  slug: '2026-02-22-china-ai2x',
  lang: 'de',
  subject: 'KI in China: Wochenüberblick Nr. 7',
  preheader: 'Vorschau',
  html,
  text,
  greeting: { named: 'Hallo {name},', anonymous: 'Guten Tag,' },
  title: 'Briefing',
};

const recipient = { id: 'sub123', email: 'anna@example.net', name: 'Anna Müller <&> "Q"', lang: 'de' as const };

function expectedFill(doc: string, values: Record<string, string>, escapeHtml: boolean): string {
  const esc = (v: string) => (escapeHtml ? v.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;') : v);
  return doc.replace(/%%depesche\.([A-Za-z]+)%%/g, (_, f: string) => esc(values[f]!));
}

describe('MIME builder', () => {
  const prepared = prepareEdition(edition, settings);

  it('produces a message mailparser decodes to exactly the filled template', async () => {
    const built = prepared.build(recipient, 'run1');
    const { envelope } = built;
    const raw = built.raw.toString('utf8');
    expect(envelope).toEqual({ from: 'briefing@example.org', to: 'anna@example.net' });
    const [head, body] = [raw.slice(0, raw.indexOf('\r\n\r\n')), raw.slice(raw.indexOf('\r\n\r\n'))];
    for (const line of body.split('\r\n')) expect(line.length).toBeLessThanOrEqual(76);
    // Only a List-Unsubscribe URL (which must not be folded) may pass 78 in the head.
    for (const line of head.split('\r\n')) if (!line.includes('/unsubscribe/')) expect(line.length).toBeLessThanOrEqual(78);
    expect(raw.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/); // only CRLF line ends

    const parsed = await simpleParser(raw);
    const unsubscribe = /unsubscribe\/([\w.-]+)/.exec(parsed.text ?? '')![1]!;
    const preferences = /preferences\/([\w.-]+)/.exec(parsed.html || '')![1]!;
    expect(verifyToken(unsubscribe, 'unsubscribe', secret)).toMatchObject({ sub: 'sub123', cmp: 'ctest1' });
    expect(verifyToken(preferences, 'preferences', secret)).toMatchObject({ sub: 'sub123' });
    const values = {
      name: recipient.name,
      greeting: `Hallo ${recipient.name},`,
      unsubscribeUrl: `https://news.example.org/unsubscribe/${unsubscribe}`,
      preferencesUrl: `https://news.example.org/preferences/${preferences}`,
      viewOnlineUrl: 'https://news.example.org/archive/2026-02-22-china-ai2x/de',
      subscribeUrl: 'https://news.example.org/subscribe?lang=de',
      archiveUrl: 'https://news.example.org/archive',
    };
    const lf = (s: string) => s.replace(/\r\n/g, '\n');
    expect(lf(parsed.html as string)).toBe(expectedFill(html, values, true));
    expect(lf(parsed.text ?? '')).toBe(expectedFill(text, values, false));
  });

  it('writes the list headers, a unique Message-ID, Date, Content-Language and multipart/alternative (text first)', async () => {
    const a = await simpleParser(prepared.build(recipient, 'runA').raw);
    const b = await simpleParser(prepared.build(recipient, 'runB').raw);
    expect(a.subject).toBe('KI in China: Wochenüberblick Nr. 7');
    expect(a.messageId).toMatch(/^<ctest1\.sub123\.runA@example\.org>$/);
    expect(a.messageId).not.toBe(b.messageId);
    expect(a.headers.get('content-language')).toBe('de');
    const line = (name: string) => a.headerLines.find((l) => l.key === name)?.line.replace(/^[^:]+:\s*/, '').replace(/\r\n\s+/g, ' ');
    expect(line('list-unsubscribe-post')).toBe('List-Unsubscribe=One-Click');
    expect(String(a.headers.get('mime-version'))).toBe('1.0');
    expect(a.headers.get('date')).toBeInstanceOf(Date);
    expect(line('list-id')).toBe('"weekly" <weekly.briefing.example.org>');
    expect(line('list-unsubscribe')).toMatch(/^<https:\/\/news\.example\.org\/unsubscribe\/[\w-]+\.[\w-]+>, <mailto:unsubscribe\+[a-z2-7]+@example\.org>$/);
    expect((a.from?.value[0])).toMatchObject({ name: 'Die Depesche', address: 'briefing@example.org' });
    expect(a.to && !Array.isArray(a.to) ? a.to.value[0] : null).toMatchObject({ address: 'anna@example.net', name: recipient.name });
    const raw = prepared.build(recipient, 'runA').raw.toString('utf8');
    expect(raw).toMatch(/^Content-Type: multipart\/alternative;/m);
    expect(raw.indexOf('Content-Type: text/plain')).toBeLessThan(raw.indexOf('Content-Type: text/html'));
    expect(raw).toMatch(/^Subject: [ -~]*=\?UTF-8\?Q\?/m);
  });

  it('signs its return addresses (VERP): envelope sender with RETURN_PATH_DOMAIN, mailto always; MAIL_FROM without', async () => {
    const plain = prepared.build(recipient, 'runA');
    expect(plain.envelope.from).toBe('briefing@example.org');
    const verp = prepareEdition(edition, { ...settings, campaignId: 'cmh2k3x9a1b2c3d', returnPathDomain: 'Bounces.Example.org' });
    const reader = { ...recipient, id: 'abcdefgh2345' };
    const message = verp.build(reader, 'runA');
    const addresses = new ReturnAddresses({ returnPathDomain: 'bounces.example.org', unsubscribeMailbox: 'unsubscribe@example.org', secrets: [secret] });
    const claims = { campaignId: 'cmh2k3x9a1b2c3d', subscriberId: 'abcdefgh2345' };
    expect(message.envelope.from).toMatch(/^b-[a-z2-7]+@bounces\.example\.org$/);
    expect(message.envelope.from.split('@')[0]!.length).toBeLessThanOrEqual(64);
    expect(addresses.recognize(message.envelope.from.toUpperCase())).toEqual({ kind: 'bounce', claims });
    const mailto = /<mailto:([^>]+)>/.exec((await simpleParser(message.raw)).headerLines.find((l) => l.key === 'list-unsubscribe')!.line)![1]!;
    expect(addresses.recognize(mailto)).toEqual({ kind: 'unsubscribe', claims });
    // Another reader's token, or one signed with another secret, names nobody.
    const other = new ReturnAddresses({ returnPathDomain: 'bounces.example.org', unsubscribeMailbox: 'unsubscribe@example.org', secrets: ['y'.repeat(40)] });
    expect(other.recognize(message.envelope.from)).toMatchObject({ kind: 'forged' });
    // Ids too long for a 64-character local part keep the plain addresses instead of failing the message.
    const long = verp.build({ ...recipient, id: '12345678901234567890' }, 'runA');
    expect(long.envelope.from).toMatch(/^b-[a-z2-7]+@bounces\.example\.org$/);
    const longLongCampaign = prepareEdition(edition, { ...settings, campaignId: 'c'.repeat(31), returnPathDomain: 'bounces.example.org' });
    const fallback = longLongCampaign.build({ ...recipient, id: '12345678901234567890' }, 'runA');
    expect(fallback.envelope.from).toBe('briefing@example.org');
    expect(fallback.raw.toString('latin1')).toContain('<mailto:unsubscribe@example.org>');
  });

  it('keeps CR and LF out of every header (CRLF injection through name and subject)', async () => {
    const evil = prepareEdition({ ...edition, subject: 'Hello\r\nBcc: victim@example.com\r\n\r\nbody' }, { ...settings, list: 'weekly\r\nX-Evil: 1' });
    const raw = evil.build({ ...recipient, name: 'Mallory\r\nBcc: spy@example.com\nX-Injected: yes' }, 'run1').raw.toString('utf8');
    const head = raw.slice(0, raw.indexOf('\r\n\r\n'));
    expect(head).not.toMatch(/^(Bcc|X-Injected|X-Evil):/im);
    const parsed = await simpleParser(raw);
    expect(parsed.headers.has('bcc')).toBe(false);
    expect(parsed.headers.has('x-injected')).toBe(false);
    expect(parsed.subject).toBe('Hello Bcc: victim@example.com body');
    expect(parsed.text).toContain('Hallo Mallory Bcc: spy@example.com X-Injected: yes,');
  });

  it('refuses an address that could smuggle a header or a second recipient', () => {
    expect(() => prepared.build({ ...recipient, email: 'a@example.org\r\nBcc: b@example.org' }, 'r')).toThrow(/not a plain e-mail address/);
    expect(() => prepared.build({ ...recipient, email: 'a@example.org, b@example.org' }, 'r')).toThrow(/not a plain e-mail address/);
  });

  it('builds a message several times faster than filling and re-encoding the whole part per recipient', () => {
    const bigHtml = html + '<p style="margin:0">Füller, der nicht neu kodiert werden soll.</p>\n'.repeat(1200);
    const big = prepareEdition({ ...edition, html: bigHtml }, settings);
    const template = compileMerge(bigHtml);
    const values = sampleMergeValues('https://news.example.org', edition.slug, 'de', edition.greeting, 'Anna');
    const time = (fn: (i: number) => number, n: number) => {
      for (let i = 0; i < 50; i++) fn(i); // warm up
      const t0 = process.hrtime.bigint();
      let bytes = 0;
      for (let i = 0; i < n; i++) bytes += fn(i);
      return { us: Number(process.hrtime.bigint() - t0) / 1000 / n, bytes };
    };
    // Interleaved rounds, best ratio: a busy machine slows one side now and then, not both for good.
    const ratios: number[] = [];
    for (let round = 0; round < 3 && !(ratios.at(-1)! > 3); round++) {
      const ours = time((i) => big.build({ ...recipient, id: `s${i}` }, 'r').parts.reduce((n, p) => n + p.length, 0), 400);
      // The naive way: fill the 70 KB document, then quoted-printable encode all of it.
      const naive = time((i) => qpWrap(qpEncode(fillMerge(template, { ...values, name: `Anna ${i}` }, 'html')), 76).length, 400);
      expect(ours.bytes).toBeGreaterThan(400 * 60_000);
      ratios.push(naive.us / ours.us);
    }
    expect(Math.max(...ratios)).toBeGreaterThan(3);
  });

  it('DKIM-signs the raw message through nodemailer, covering both List headers', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = privateKey.export({ type: 'pkcs1', format: 'pem' }).toString();
    const transporter = nodemailer.createTransport({
      streamTransport: true,
      buffer: true,
      dkim: { domainName: 'example.org', keySelector: 'mail', privateKey: pem, headerFieldNames: DKIM_HEADERS },
    });
    const { raw, envelope } = prepared.build(recipient, 'run1');
    const info = (await transporter.sendMail({ envelope, raw })) as { message: Buffer };
    const signed = info.message.toString();
    const [head, ...bodyParts] = signed.split('\r\n\r\n');
    const body = bodyParts.join('\r\n\r\n');
    const unfolded = head!.replace(/\r\n[ \t]+/g, ' ');
    const dkimLine = unfolded.split('\r\n').find((l) => l.startsWith('DKIM-Signature:'))!;
    const tags = Object.fromEntries(dkimLine.slice('DKIM-Signature:'.length).split(';').map((t) => t.trim().split(/=(.*)/s).slice(0, 2) as [string, string]));
    const signedHeaders = tags.h!.toLowerCase().split(':');
    expect(signedHeaders).toEqual(expect.arrayContaining(['list-unsubscribe', 'list-unsubscribe-post', 'list-id', 'from', 'subject', 'message-id']));
    // Body hash, relaxed canonicalization (RFC 6376 3.4.4).
    const canonBody = body.replace(/[ \t]+\r\n/g, '\r\n').replace(/[ \t]+/g, ' ').replace(/(\r\n)*$/, '\r\n');
    expect(tags.bh!.replace(/\s/g, '')).toBe(createHash('sha256').update(canonBody).digest('base64'));
    // Header signature, relaxed canonicalization (RFC 6376 3.4.2).
    const lines = unfolded.split('\r\n');
    const canon = (line: string) => {
      const i = line.indexOf(':');
      return `${line.slice(0, i).toLowerCase().trim()}:${line.slice(i + 1).replace(/[ \t]+/g, ' ').trim()}`;
    };
    const used = new Map<string, number>();
    let data = '';
    for (const name of signedHeaders) {
      const matches = lines.filter((l) => l.toLowerCase().startsWith(`${name}:`));
      const n = used.get(name) ?? 0;
      const line = matches[matches.length - 1 - n];
      used.set(name, n + 1);
      if (line) data += `${canon(line)}\r\n`;
    }
    data += canon(dkimLine.replace(/b=[^;]*$/, 'b='));
    const verifier = createVerify('RSA-SHA256');
    verifier.update(data);
    expect(verifier.verify(publicKey, tags.b!.replace(/\s/g, ''), 'base64')).toBe(true);
  });

  it('greets a reader whose name holds replacement patterns exactly as written ($&, $`, $\', {name})', async () => {
    for (const name of ['Jo$& Müller', 'A$`B', "C$'D", 'E{name}F', '$$ $1']) {
      const parsed = await simpleParser(prepared.build({ ...recipient, name }, 'r').raw);
      expect(parsed.text).toContain(`Hallo ${name},`);
      expect(parsed.html).toContain(escapeHtml(`Hallo ${name},`));
    }
  });

  it('never shows a name that looks like an RFC 2047 encoded word as an address in To:', async () => {
    // Decoded, this "name" would read evil@example.com.
    const name = '=?utf-8?B?ZXZpbEBleGFtcGxlLmNvbQ==?=';
    const parsed = await simpleParser(prepared.build({ ...recipient, name }, 'r').raw);
    const to = (Array.isArray(parsed.to) ? parsed.to[0] : parsed.to)!.value;
    expect(to).toEqual([{ address: 'anna@example.net', name }]);
  });
});
