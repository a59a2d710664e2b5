import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createProgram } from '../../src/cli/program.ts';
import { COMMANDS } from '../../src/cli/registry.ts';
import { createCompiler } from '../../src/render/index.ts';
import { parseProofRequest } from '../../src/server/preview/proof.ts';
import { startSmtp, type TestSmtp } from '../support/smtp.ts';
import { copyContent, type ContentCopy } from './content.ts';

const repo = resolve(import.meta.dirname, '../..');
let smtp: TestSmtp;
let content: ContentCopy;
let slug: string;
let subjects: Record<string, string>;

function depesche(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, reject) => {
    const child = spawn(process.execPath, [resolve(repo, 'bin/depesche.js'), ...args], {
      cwd: content.dir,
      env: { ...process.env, ...ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c));
    child.stderr.on('data', (c: Buffer) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

const ENV = { DEPESCHE_CONFIG: '', PUBLIC_URL: 'https://news.example.org', MAIL_FROM: 'Briefing <briefing@news.example.org>' };

/** The command in this process: what a real run does, without paying a CLI start per case. */
async function inProcess(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const saved = { ...process.env };
  Object.assign(process.env, ENV, env);
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  process.exitCode = undefined;
  try {
    const program = createProgram(COMMANDS, { exitOverride: true });
    await program.parseAsync(['node', 'depesche', ...args]);
    return { code: Number(process.exitCode ?? 0), stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
    process.exitCode = undefined;
    process.env = saved;
  }
}

beforeAll(async () => {
  smtp = await startSmtp();
  content = await copyContent();
  const compiler = createCompiler({ contentDir: content.dir });
  slug = (await compiler.listIssues())[0]!.slug;
  subjects = Object.fromEntries((await compiler.compile(slug)).map((e) => [e.lang, e.subject]));
});

afterAll(async () => {
  await smtp?.close();
  await content?.remove();
});

describe('depesche test-send', () => {
  it('sends one proof per language over SMTP_URL with the headers of a real send', async () => {
    const result = await inProcess(['test-send', slug, '--to', 'editor@example.org', '--lang', 'all', '--dir', content.dir], { SMTP_URL: smtp.url });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`sent de proof to editor@example.org: [Test] ${subjects.de}`);
    await smtp.waitFor(2);
    for (const mail of smtp.mails) {
      const lang = String(mail.parsed.headers.get('content-language'));
      expect(mail.to).toEqual(['editor@example.org']);
      expect(mail.from).toBe('briefing@news.example.org');
      expect(mail.parsed.subject).toBe(`[Test] ${subjects[lang]}`);
      const head = mail.raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ');
      expect(head).toMatch(/^List-Unsubscribe: <https:\/\/news\.example\.org\/unsubscribe\/[^>]+>, <mailto:unsubscribe@news\.example\.org>\r?$/m);
      expect(head).toMatch(/^List-Unsubscribe-Post: List-Unsubscribe=One-Click\r?$/m);
      expect(head).toMatch(/^List-Id: "proof" <proof\.news\.example\.org>\r?$/m);
      expect(head).toMatch(/^Message-ID: <[^>]+@news\.example\.org>\r?$/m);
      expect(head).toMatch(/^Date: /m);
      expect(mail.parsed.html).toBeTruthy();
      expect(mail.parsed.text).toBeTruthy();
    }
    expect(smtp.mails.map((m) => String(m.parsed.headers.get('content-language'))).sort()).toEqual(['de', 'en']);
  });

  it('signs proofs with DKIM like a campaign (the same transport settings), and an outside verifier accepts them', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const before = smtp.mails.length;
    const result = await inProcess(['test-send', slug, '--to', 'editor@example.org', '--lang', 'de', '--dir', content.dir], {
      SMTP_URL: smtp.url,
      DKIM_DOMAIN: 'news.example.org',
      DKIM_SELECTOR: 'proof2026',
      DKIM_PRIVATE_KEY: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    });
    expect(result.stderr).toBe('');
    await smtp.waitFor(before + 1);
    const raw = smtp.mails[before]!.raw;
    const head = raw.split(/\r?\n\r?\n/)[0]!.replace(/\r?\n[ \t]+/g, ' ');
    expect(head).toMatch(/^DKIM-Signature: .*d=news\.example\.org;.*s=proof2026;/m);
    expect(head).toMatch(/^DKIM-Signature: .*h=[^;]*list-unsubscribe/im);
    if (spawnSync('/usr/bin/python3', ['-c', 'import dkim'], { stdio: 'ignore' }).status === 0) {
      const records = { 'proof2026._domainkey.news.example.org': `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}` };
      const input = JSON.stringify([{ message: Buffer.from(raw).toString('base64'), records }]);
      const verdicts = JSON.parse(execFileSync('/usr/bin/python3', [resolve(repo, 'test/support/dkim-verify.py')], { input }).toString()) as { ok: boolean }[][];
      expect(verdicts[0]!.every((v) => v.ok)).toBe(true);
    }
  });

  it('says what is wrong and exits 1 when the server refuses', async () => {
    const before = smtp.mails.length;
    // One real process, for the exit code and the message on stderr; bad input is checked below.
    smtp.setFault(() => ({ code: 550, message: 'mailbox unavailable' }));
    try {
      const refused = await depesche(['test-send', slug, '--to', 'editor@example.org', '--lang', 'de'], { SMTP_URL: smtp.url });
      expect(refused.stdout).toBe('');
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('was not sent');
      expect(refused.stderr).toContain('mailbox unavailable');
    } finally {
      smtp.setFault(undefined);
    }
    expect(smtp.mails.length).toBe(before);
  });

  it('takes exactly one address and a known language', () => {
    expect(parseProofRequest('x', { to: ' editor@example.org ', lang: 'de' })).toEqual({ slug: 'x', to: 'editor@example.org', lang: 'de' });
    expect(parseProofRequest('x', { to: 'editor@example.org' }).lang).toBe('all');
    for (const to of ['not-an-address', 'a@b.org, c@d.org', 'a@b.org\r\nBcc: c@d.org', '', 42]) {
      expect(() => parseProofRequest('x', { to })).toThrow(/is not one email address/);
    }
    expect(() => parseProofRequest('x', { to: 'a@b.org', lang: 'fr' })).toThrow(/Unknown language "fr"/);
  });
});
