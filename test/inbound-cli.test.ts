import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { startInbound } from '../src/app/inbound-process.ts';
import { createProgram } from '../src/cli/program.ts';
import { COMMANDS } from '../src/cli/registry.ts';
import { loadConfig } from '../src/config/load.ts';
import type { DepescheError } from '../src/errors.ts';
import { createLogger } from '../src/log.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from './support/ports.ts';
import { startRedis, type TestRedis } from './support/redis.ts';
import { CAMPAIGN, DOWN_SINK, fixture, READER, SECRET, testAddresses } from './support/returns.ts';

const REPO = join(import.meta.dirname, '..');
const silent = createLogger({ level: 'silent', pretty: false });
let dir: string;
let redis: TestRedis;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'depesche-inbound-cli-'));
  redis = await startRedis();
});
afterAll(async () => {
  await redis.stop();
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
  it('has --help with its options', () => {
    const program = createProgram(COMMANDS);
    const help = program.commands.find((c) => c.name() === 'inbound')!.helpInformation();
    for (const option of ['--smtp-port', '--smtp-host', '--no-smtp', '--no-imap']) expect(help).toContain(option);
  });

  it('runs as a real process over Redis: listens, reads a bounce for a reader it does not know, logs it and stops cleanly on SIGTERM', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [join(REPO, 'bin/depesche.js'), 'inbound', '--smtp-port', String(port)], {
      env: { ...env(), REDIS_URL: redis.url, DEPESCHE_PREFIX: 'inboundcli' },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const waitFor = async (pattern: RegExp) => {
      const deadline = Date.now() + 30_000;
      while (!pattern.test(out)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`no ${pattern} in:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await waitFor(/depesche inbound ready/);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
    await transport.sendMail({ envelope: { from: '', to: testAddresses().bounceAddress(READER)! }, raw: fixture('postfix-dsn-user-unknown.eml') });
    transport.close();
    await waitFor(/return path: bounce unknown-reader/);
    const line = out.split('\n').find((l) => l.includes('return path: bounce'))!;
    expect(JSON.parse(line)).toMatchObject({ kind: 'bounce', severity: 'hard', campaignId: CAMPAIGN, subscriberId: READER.subscriberId, outcome: 'unknown-reader' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('says which port is taken', async () => {
    const blocker = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
    try {
      const config = loadConfig({ env: env(), flags: { INBOUND_SMTP_PORT: port } });
      const error = (await startInbound(config, { smtp: true, imap: false, logger: silent, sink: DOWN_SINK }).then(
        (run) => (void run.close(), new Error('expected a refusal')),
        (e: unknown) => e,
      )) as DepescheError;
      expect(error.format()).toContain(`Cannot listen on 127.0.0.1:${port}`);
      expect(error.hint).toContain('--smtp-port');
    } finally {
      blocker.close();
    }
  });

  it('refuses to run with nothing to do, and --imap without IMAP_URL', async () => {
    const config = loadConfig({ env: env() });
    await expect(startInbound(config, { smtp: false, imap: false, logger: silent })).rejects.toThrow(/Nothing to run/);
    await expect(startInbound(config, { smtp: false, imap: true, logger: silent })).rejects.toThrow(/IMAP_URL is not set/);
  });
});
