import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import DKIM from 'nodemailer/lib/dkim';
import { describe, expect, it } from 'vitest';
import type { FrozenEdition } from '../src/campaign/campaigns.ts';
import { prepareEdition } from '../src/campaign/mime.ts';
import { loadConfig } from '../src/config/index.ts';
import { mergeMarker } from '../src/render/merge.ts';
import { createDkimSigner, DKIM_HEADERS, dkimSignerFromConfig } from '../src/transport/dkim.ts';
import { createCampaignTransport } from '../src/transport/campaign-transport.ts';
import { createSmtpTransport } from '../src/transport/smtp.ts';
import { startSmtp } from './support/smtp.ts';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ed = generateKeyPairSync('ed25519');
const DOMAIN = 'example.org';
const signer = createDkimSigner({
  domain: DOMAIN,
  keys: [
    { selector: 'rsa2026', privateKey: rsa.privateKey },
    { selector: 'ed2026', privateKey: ed.privateKey },
  ],
});

/** The DNS TXT records a receiver would look up for both keys. */
function records(rsaKey: KeyObject = rsa.publicKey, edKey: KeyObject = ed.publicKey): Record<string, string> {
  const edRaw = Buffer.from((edKey.export({ format: 'jwk' }) as { x: string }).x, 'base64url');
  return {
    [`rsa2026._domainkey.${DOMAIN}`]: `v=DKIM1; k=rsa; p=${rsaKey.export({ type: 'spki', format: 'der' }).toString('base64')}`,
    [`ed2026._domainkey.${DOMAIN}`]: `v=DKIM1; k=ed25519; p=${edRaw.toString('base64')}`,
  };
}

// The outside verifier: Debian's python3-dkim (dkimpy). `.ci/run` installs it.
const PYTHON = '/usr/bin/python3';
const verifierMissing = spawnSync(PYTHON, ['-c', 'import dkim, nacl'], { stdio: 'ignore' }).status !== 0;
if (verifierMissing) {
  console.warn('transport-dkim: python3-dkim is not installed, so the outside-verifier tests are skipped. Install it with `apt-get install -y python3-dkim` (.ci/run does).');
}

interface Verdict {
  ok: boolean;
  selector?: string;
  error?: string;
}

/** Every DKIM-Signature of every message, as dkimpy sees it (one process for all of them). */
function dkimpy(messages: (Buffer | { message: Buffer; dns: Record<string, string> })[], dns = records()): Verdict[][] {
  const script = join(import.meta.dirname, 'support/dkim-verify.py');
  const items = messages.map((m) => (Buffer.isBuffer(m) ? { message: m, dns } : m));
  const input = JSON.stringify(items.map((item) => ({ message: item.message.toString('base64'), records: item.dns })));
  return JSON.parse(execFileSync(PYTHON, [script], { input }).toString()) as Verdict[][];
}

function tags(message: Buffer, index = 0): Record<string, string> {
  const head = message.toString('latin1').split('\r\n\r\n')[0]!.replace(/\r\n[ \t]/g, ' ');
  const field = head.split('\r\n').filter((l) => /^dkim-signature:/i.test(l))[index]!;
  return Object.fromEntries(
    field
      .slice(field.indexOf(':') + 1)
      .split(';')
      .map((t) => t.trim())
      .filter(Boolean)
      .map((t) => [t.slice(0, t.indexOf('=')), t.slice(t.indexOf('=') + 1).replace(/\s+/g, '')]),
  );
}

async function nodemailerSigned(message: Buffer): Promise<Buffer> {
  const stream = new DKIM({ domainName: DOMAIN, keySelector: 'rsa2026', privateKey: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, headerFieldNames: DKIM_HEADERS }).sign(message);
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

// The campaign builder's output: quoted-printable parts of a long body, RFC 2047 names and
// subjects folded over several lines, merge values spliced into both parts.
const paragraph = 'Künstliche Intelligenz verändert Chinas Industrie — 人工智能, Rechenzentren im Orbit. ';
const edition: FrozenEdition = {
  slug: '2026-03-01-dkim',
  lang: 'de',
  subject: 'KI in China: Wochenüberblick mit einem sehr langen Betreff, der gefaltet werden muss — Nr. 7',
  preheader: 'Vorschau',
  title: 'Briefing',
  greeting: { named: 'Hallo {name},', anonymous: 'Guten Tag,' },
  text: `${mergeMarker('greeting')}\n\n${paragraph.repeat(300)}\nTrailing space   \n\tTab line\nAbmelden: ${mergeMarker('unsubscribeUrl')}\n\n\n`,
  html: `<!doctype html><html><body>\n<p>${mergeMarker('greeting')}</p>\n${`<p>${paragraph}</p>\n`.repeat(600)}<p>  spaced  out  </p>\n<a href="${mergeMarker('unsubscribeUrl')}">Abmelden</a>\n</body></html>\n\n`,
};
const prepared = prepareEdition(edition, {
  mailFrom: 'Die Depesche Redaktion Überblick <briefing@example.org>',
  publicUrl: 'https://news.example.org',
  secret: 's'.repeat(40),
  campaignId: 'cdkim',
  list: 'weekly',
});
const readers = [
  { id: 'r1', email: 'anna@example.net', name: 'Anna', lang: 'de' as const },
  { id: 'r2', email: 'zoe@example.net', name: 'Zoë Šimková-Łukasiewicz von und zu Großbritannien-Nordirland', lang: 'de' as const },
  { id: 'r3', email: 'li@example.net', name: '李小龍 "Bruce" <x>', lang: 'de' as const },
  { id: 'r4', email: 'nobody@example.net', name: '', lang: 'de' as const },
];
const built = readers.map((r) => prepared.build(r, 'run1').raw);

// Hand-made messages with everything relaxed canonicalisation has to get right.
const messy = [
  'From: a@example.org\r\nTo:   b@example.net  \r\nSubject: runs   of\t\tspace  \r\n\tand a folded\r\n  continuation\r\nDate: Sun, 1 Mar 2026 10:00:00 +0000\r\nMessage-ID: <m1@example.org>\r\n\r\nline with trailing spaces   \r\n\ttab start\tand\t\tinside\r\n   \r\n\r\nlast text\r\n\r\n\r\n\r\n',
  'From: a@example.org\r\nSubject: two To fields, both signed\r\nTo: b@example.net\r\nTo: second-to@example.net\r\n\r\n',
  'From: a@example.org\r\nSubject: no final line end\r\n\r\nbody without CRLF at the end  ',
  'From: a@example.org\r\nSubject: only empty lines\r\n\r\n\r\n\r\n\r\n',
  'From: a@example.org\r\nSubject: bare line ends\nTo: b@example.net\n\nfirst\nsecond\rthird  \n\n',
  'From: =?UTF-8?Q?J=C3=BCrgen?= <a@example.org>\r\nSubject: =?UTF-8?Q?=C3=9Cberblick?=\r\n =?UTF-8?Q?_Teil_2?=\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nGrüße, 日本語  mit  Leerzeichen\t\r\n',
].map((m) => Buffer.from(m, 'utf8'));

describe('DKIM signer', () => {
  it.skipIf(verifierMissing)("signs the campaign builder's messages so dkimpy verifies both the RSA and the Ed25519 signature", () => {
    const signed = built.map((m) => signer.sign(m));
    expect(signed[0]!.length).toBeGreaterThan(60_000);
    const verdicts = dkimpy(signed);
    for (const verdict of verdicts) {
      expect(verdict).toEqual([
        { ok: true, domain: DOMAIN, selector: 'rsa2026' },
        { ok: true, domain: DOMAIN, selector: 'ed2026' },
      ]);
    }
    expect(tags(signed[0]!).h).toBe('from:subject:date:message-id:to:mime-version:content-type:content-language:list-id:list-unsubscribe:list-unsubscribe-post');
    expect(tags(signed[0]!, 1).a).toBe('ed25519-sha256');
  });

  it.skipIf(verifierMissing)('signs messy messages dkimpy verifies: trailing space, tabs, folds, empty lines at the end, bare line ends', () => {
    const signed = messy.map((m) => signer.sign(m));
    for (const [i, verdict] of dkimpy(signed).entries()) expect(verdict.map((v) => v.ok), messy[i]!.toString()).toEqual([true, true]);
    // Bare CR and LF are sent as CRLF, so that is what gets signed.
    expect(signed[4]!.toString()).toContain('\r\nfirst\r\nsecond\r\nthird  \r\n');
  });

  it.skipIf(verifierMissing)('fails verification when a signed byte changes, or against the wrong key', () => {
    const signed = signer.sign(built[1]!);
    const body = Buffer.from(signed);
    body[body.length - 40] = body[body.length - 40]! ^ 1;
    const header = Buffer.from(signed.toString('latin1').replace('Subject: ', 'Subject: X'), 'latin1');
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const otherEd = generateKeyPairSync('ed25519');
    const [bodyVerdict, headerVerdict, keyVerdict] = dkimpy([body, header, { message: signed, dns: records(other.publicKey, otherEd.publicKey) }]);
    for (const verdict of [bodyVerdict!, headerVerdict!, keyVerdict!]) expect(verdict.map((v) => v.ok)).toEqual([false, false]);
  });

  it("hashes and picks headers as nodemailer's DKIM does, and dkimpy verifies both", async () => {
    const rsaOnly = createDkimSigner({ domain: DOMAIN, keys: [{ selector: 'rsa2026', privateKey: rsa.privateKey }] });
    const messages = [...built, ...messy.filter((m) => !m.toString().includes('bare line ends'))];
    const theirs = await Promise.all(messages.map(nodemailerSigned));
    const ours = messages.map((m) => rsaOnly.sign(m));
    for (let i = 0; i < messages.length; i++) {
      expect(tags(ours[i]!).bh, messages[i]!.toString().slice(0, 200)).toBe(tags(theirs[i]!).bh);
      // nodemailer signs only the bottom-most of two fields of one name, we sign both (RFC 6376 5.4.2).
      expect(new Set(tags(ours[i]!).h!.split(':'))).toEqual(new Set(tags(theirs[i]!).h!.split(':')));
    }
    if (!verifierMissing) {
      for (const verdict of dkimpy([...theirs.slice(0, 2), ...ours.slice(0, 2)])) expect(verdict.map((v) => v.ok)).toEqual([true]);
    }
  });

  it("gives the same body hash as nodemailer's for random bodies of spaces, tabs and line ends", async () => {
    let seed = 7;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const pieces = ['a', 'word', ' ', '  ', '\t', ' \t ', '\r\n', '\r\n\r\n', 'ü', '.'];
    const rsaOnly = createDkimSigner({ domain: DOMAIN, keys: [{ selector: 'rsa2026', privateKey: rsa.privateKey }] });
    const bodies: string[] = [];
    for (let round = 0; round < 60; round++) {
      let body = '';
      const n = Math.floor(random() * 80);
      for (let i = 0; i < n; i++) body += pieces[Math.floor(random() * pieces.length)];
      bodies.push(body);
    }
    const messages = bodies.map((b) => Buffer.from(`From: a@example.org\r\nSubject: fuzz\r\n\r\n${b}`, 'utf8'));
    const theirs = await Promise.all(messages.map(nodemailerSigned));
    for (let i = 0; i < messages.length; i++) expect(tags(rsaOnly.sign(messages[i]!)).bh, JSON.stringify(bodies[i])).toBe(tags(theirs[i]!).bh);
  });

  it("gives the same signature for the builder's parts as for the joined message, parts cached or not", () => {
    for (const reader of readers) {
      const message = prepared.build(reader, 'run2');
      const whole = signer.signatureFields(message.raw);
      expect(signer.signatureFields(message.parts)).toBe(whole);
      expect(signer.signatureFields(message.parts)).toBe(whole); // second time from the cache
    }
    // Parts that are not whole lines are joined first; whole-line parts of messy text agree too.
    const text = messy[0]!.toString('latin1');
    const lines = text.split(/(?<=\r\n)/);
    const wholeLineParts = [lines.slice(0, 9).join(''), ...lines.slice(9).map((l) => l.repeat(1))].map((p) => Buffer.from(p, 'latin1'));
    const oddParts = [text.slice(0, 200), text.slice(200, 207), text.slice(207)].map((p) => Buffer.from(p, 'latin1'));
    expect(signer.signatureFields(wholeLineParts)).toBe(signer.signatureFields(messy[0]!));
    expect(signer.signatureFields(oddParts)).toBe(signer.signatureFields(messy[0]!));
  });

  it.skipIf(verifierMissing)("signs with both keys in the worker's campaign transport (from the builder's parts) and in the proof transport (raw)", async () => {
    const smtp = await startSmtp({ parse: false });
    const dir = mkdtempSync(join(tmpdir(), 'dkim-'));
    writeFileSync(join(dir, 'rsa.pem'), rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    writeFileSync(join(dir, 'ed.pem'), ed.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const config = {
      SMTP_URL: smtp.url,
      SMTP_POOL_SIZE: 2,
      DKIM_DOMAIN: DOMAIN,
      DKIM_SELECTOR: 'rsa2026',
      DKIM_PRIVATE_KEY_FILE: join(dir, 'rsa.pem'),
      DKIM_ED25519_SELECTOR: 'ed2026',
      DKIM_ED25519_PRIVATE_KEY_FILE: join(dir, 'ed.pem'),
    };
    const campaign = createCampaignTransport(config);
    const proofs = createSmtpTransport(config);
    try {
      const message = prepared.build(readers[2]!, 'run3');
      await campaign.sendMail({ envelope: message.envelope, messageId: message.messageId, raw: message.parts });
      const again = prepared.build(readers[2]!, 'run4');
      await campaign.sendMail({ envelope: again.envelope, messageId: again.messageId, raw: again.parts });
      await proofs.sendMail({ envelope: message.envelope, raw: message.raw });
      const arrived = smtp.mails.map((mail) => Buffer.from(mail.raw, 'utf8'));
      expect(arrived).toHaveLength(3);
      expect(dkimpy(arrived).map((mail) => mail.map((v) => v.ok))).toEqual([[true, true], [true, true], [true, true]]);
    } finally {
      await campaign.close();
      await proofs.close();
      await smtp.close();
    }
  });

  it('reads its keys from the settings once, and says what is wrong with bad ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dkim-'));
    const edFile = join(dir, 'ed.pem');
    writeFileSync(edFile, ed.privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const rsaPem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const both = dkimSignerFromConfig({ DKIM_DOMAIN: DOMAIN, DKIM_SELECTOR: 'rsa2026', DKIM_PRIVATE_KEY: rsaPem.replace(/\n/g, '\\n'), DKIM_ED25519_SELECTOR: 'ed2026', DKIM_ED25519_PRIVATE_KEY_FILE: edFile })!;
    const signed = both.sign(built[0]!);
    expect([tags(signed, 0).s, tags(signed, 1).s]).toEqual(['rsa2026', 'ed2026']);
    expect(dkimSignerFromConfig({})).toBeUndefined();

    expect(() => dkimSignerFromConfig({ DKIM_DOMAIN: DOMAIN, DKIM_SELECTOR: 's', DKIM_PRIVATE_KEY: 'not a key' })).toThrow(/DKIM_PRIVATE_KEY is not a PEM private key/);
    expect(() => dkimSignerFromConfig({ DKIM_DOMAIN: DOMAIN, DKIM_SELECTOR: 's', DKIM_PRIVATE_KEY_FILE: join(dir, 'missing.pem') })).toThrow(/Cannot read DKIM_PRIVATE_KEY_FILE/);
    expect(() => dkimSignerFromConfig({ DKIM_DOMAIN: DOMAIN, DKIM_ED25519_SELECTOR: 'e', DKIM_ED25519_PRIVATE_KEY: rsaPem })).toThrow(/DKIM_ED25519_PRIVATE_KEY holds a rsa key/);
    const small = generateKeyPairSync('rsa', { modulusLength: 512 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    expect(() => dkimSignerFromConfig({ DKIM_DOMAIN: DOMAIN, DKIM_SELECTOR: 's', DKIM_PRIVATE_KEY: small })).toThrow(/512 bits/);
    expect(() => createDkimSigner({ domain: 'example.org; x=y', keys: [{ selector: 's', privateKey: ed.privateKey }] })).toThrow(/not a plain DNS label/);

    const env = { DEPESCHE_SECRET: 'z'.repeat(40) };
    expect(() => loadConfig({ env: { ...env, DKIM_DOMAIN: DOMAIN } })).toThrow(/DKIM needs DKIM_DOMAIN and, for each key/);
    expect(() => loadConfig({ env: { ...env, DKIM_DOMAIN: DOMAIN, DKIM_ED25519_SELECTOR: 'e' } })).toThrow(/for each key/);
    expect(loadConfig({ env: { ...env, DKIM_DOMAIN: DOMAIN, DKIM_ED25519_SELECTOR: 'e', DKIM_ED25519_PRIVATE_KEY_FILE: edFile } }).DKIM_ED25519_SELECTOR).toBe('e');
  });
});
