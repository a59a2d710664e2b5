import { spawn, execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/ports.ts';
import { CAMPAIGN, fixture, READER, SECRET, testAddresses } from './support/returns.ts';

const REPO = join(import.meta.dirname, '..');
const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'depesche-inbound-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const env = () => ({
  ...process.env,
  DEPESCHE_SECRET: SECRET,
  RETURN_PATH_DOMAIN: 'bounces.example.org',
  MAIL_FROM: 'China AI2X Briefing <briefing@example.org>',
  INBOUND_QUARANTINE_DIR: join(dir, 'quarantine'),
  IMAP_URL: '',
  LOG_LEVEL: 'info',
});

describe('depesche inbound', () => {
  it('has --help with its options', async () => {
    const { stdout } = await run(process.execPath, [join(REPO, 'bin/depesche.js'), 'inbound', '--help'], { env: env() });
    for (const option of ['--smtp-port', '--smtp-host', '--no-smtp', '--no-imap']) expect(stdout).toContain(option);
  });

  it('listens, reads a bounce, prints it (no sink wired yet) and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [join(REPO, 'bin/depesche.js'), 'inbound', '--smtp-port', String(port)], { env: env() });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = async (pattern: RegExp) => {
      const deadline = Date.now() + 20_000;
      while (!pattern.test(out)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${pattern} in:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitFor(/depesche inbound ready/);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
    await transport.sendMail({ envelope: { from: '', to: testAddresses().bounceAddress(READER)! }, raw: fixture('postfix-dsn-user-unknown.eml') });
    transport.close();
    await waitFor(/NOT applied/);
    const line = out.split('\n').find((l) => l.includes('NOT applied'))!;
    expect(JSON.parse(line)).toMatchObject({ kind: 'bounce', severity: 'hard', campaignId: CAMPAIGN, subscriberId: READER.subscriberId });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('says which port is taken and exits 1', async () => {
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const result = await run(process.execPath, [join(REPO, 'bin/depesche.js'), 'inbound', '--smtp-port', String(port)], { env: env() }).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => e,
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(`Cannot listen on 127.0.0.1:${port}`);
      expect(result.stderr).toContain('--smtp-port');
    } finally {
      blocker.close();
    }
  });

  it('refuses to run with nothing to do', async () => {
    const result = await run(process.execPath, [join(REPO, 'bin/depesche.js'), 'inbound', '--no-smtp'], { env: env() }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => e,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/Nothing to run/);
  });
});
