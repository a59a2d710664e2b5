import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { promisify } from 'node:util';
import { CommanderError } from 'commander';
import { parse } from 'csv-parse/sync';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProgram } from '../src/cli/program.ts';
import { COMMANDS } from '../src/cli/registry.ts';
import { keyspace } from '../src/config/redis.ts';
import { exportCsv } from '../src/subscribers/export.ts';
import { importCsv } from '../src/subscribers/import.ts';
import { RedisSubscriberStore } from '../src/subscribers/redis-store.ts';
import { startRedis, type TestRedis } from './support/redis.ts';

let server: TestRedis;
let redis: Redis;
let dir: string;
let n = 0;
const fresh = () => new RedisSubscriberStore(redis, keyspace(`imp${++n}`));

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  dir = await mkdtemp(join(tmpdir(), 'depesche-import-'));
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

async function exportText(store: RedisSubscriberStore, list: string): Promise<string> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await exportCsv(store, list, out);
  return Buffer.concat(chunks).toString('utf8');
}

async function importText(store: RedisSubscriberStore, text: string, list: string, batchSize?: number) {
  const report = new PassThrough();
  const chunks: Buffer[] = [];
  report.on('data', (c: Buffer) => chunks.push(c));
  const summary = await importCsv(Readable.from([text]), { store, list, report, defaultLang: 'de', source: 'import:test.csv', ...(batchSize ? { batchSize } : {}) });
  return { summary, report: parse(Buffer.concat(chunks).toString('utf8'), { columns: true }) as Record<string, string>[] };
}

describe('CSV import', () => {
  it('reports exactly the bad rows, with spreadsheet row and reason, and keeps every good one', async () => {
    const store = fresh();
    const csv = [
      'Email,Name,Lang,extra',
      'anna@example.org,Anna Meier,de,x',
      'not-an-address,Nobody,en,x',
      'ben@example.org,"Ben\r\nBcc: evil@example.net",en,x',
      'carla@example.org,Carla,fr,x',
      'dora@example.org,"<b>Dora</b> & Co",en,x',
      ',Empty,de,x',
      'ANNA@example.org,Anna M.,en,x',
      'emil@example.org,Emil\u0007,de,x',
      'fritz@example.org,,,x',
      'gina@example.org,"Gina "The" Great",de,x',
      'hans@example.org,Hans,de,x',
      'ines@example.org,"never closed,de,x',
      'jan@example.org,Jan,en,x',
      'kai@example.org,O"Brien,en,x',
      '',
      'lea@example.org,"Lea, Dr.",de,"notes\nover two lines"',
    ].join('\n');
    // Tiny batches, so rows meet Redis across many round trips with one in flight.
    const { summary, report } = await importText(store, csv, 'weekly', 2);
    expect(report.map((r) => [r.row, r.email, r.reason])).toEqual([
      ['3', 'not-an-address', 'email "not-an-address" is not a valid address'],
      ['5', 'carla@example.org', 'lang must be "de" or "en", got "fr"'],
      ['7', '', 'email is missing'],
      ['9', 'emil@example.org', 'name contains control characters or line breaks'],
      // A broken quote spoils its own row only; the rows after it still count.
      ['11', 'gina@example.org,"Gina "The" Great",de,x', 'malformed CSV: a quoted field has text after its closing quote (write a quote inside quotes as "")'],
      ['13', 'ines@example.org,"never closed,de,x', 'malformed CSV: a quoted field is never closed'],
    ]);
    expect(summary).toMatchObject({ rows: 15, created: 8, updated: 1, unchanged: 0, joined: 0, keptOff: 0, rejected: 6, joinedLines: 1, encoding: { name: 'utf-8' } });
    for (const email of ['hans@example.org', 'jan@example.org']) expect(await store.findByEmail(email)).not.toBeNull();
    // A quote inside an unquoted field is just a character; a quoted field may span lines in other columns.
    expect(await store.findByEmail('kai@example.org')).toMatchObject({ name: 'O"Brien' });
    expect(await store.findByEmail('gina@example.org')).toBeNull();
    expect(await store.findByEmail('lea@example.org')).toMatchObject({ name: 'Lea, Dr.' });
    // The later row for the same address (other case) wins: last one in the file.
    expect(await store.findByEmail('anna@example.org')).toMatchObject({ name: 'Anna M.', lang: 'en', status: 'active', consent: { source: 'import:test.csv' } });
    // HTML is stored as written; pages and mails escape it on output.
    expect(await store.findByEmail('dora@example.org')).toMatchObject({ name: '<b>Dora</b> & Co', lang: 'en' });
    expect(await store.findByEmail('fritz@example.org')).toMatchObject({ name: '', lang: 'de' });
    // A name over two lines imports as one line: CR/LF never reach a header.
    expect(await store.findByEmail('ben@example.org')).toMatchObject({ name: 'Ben Bcc: evil@example.net' });
  });

  it('imports 5,000 good rows among bad ones twice: exactly 5,000 subscribers, no duplicates, languages kept', async () => {
    const store = fresh();
    const lines = ['email,name,lang'];
    const bad = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      lines.push(`user${i}@Example.org,User ${i},${i % 3 === 0 ? 'en' : 'de'}`);
      if (i % 97 === 0) {
        lines.push(`broken${i}@@example.org,Bad,de`);
        bad.add(lines.length - 1);
      }
      if (i % 211 === 0) {
        lines.push(`ctrl${i}@example.org,"Bell\u0007",en`);
        bad.add(lines.length - 1);
      }
    }
    const csv = lines.join('\n');
    const first = await importText(store, csv, 'big');
    expect(first.summary).toMatchObject({ created: 5000, rejected: bad.size, rows: 5000 + bad.size });
    expect(first.report).toHaveLength(bad.size);
    const second = await importText(store, csv, 'big');
    expect(second.summary).toMatchObject({ created: 0, updated: 0, unchanged: 5000, joined: 0, rejected: bad.size });

    const [stats] = await store.lists();
    expect(stats).toMatchObject({ name: 'big', total: 5000, byLang: { en: 1667, de: 3333 }, byStatus: { active: 5000 } });
    const exported = parse(await exportText(store, 'big'), { columns: true }) as Record<string, string>[];
    expect(exported).toHaveLength(5000);
    expect(new Set(exported.map((r) => r.email!.toLowerCase())).size).toBe(5000);
    expect(exported[0]).toEqual({ email: 'user0@example.org', name: 'User 0', lang: 'en', status: 'active' });
    expect(exported.filter((r) => r.lang === 'en')).toHaveLength(1667);
  });

  it('round-trips through export: same addresses, names, languages and statuses', async () => {
    const source = fresh();
    await importText(source, 'email,name,lang\na@example.org,"Müller, Hans",de\nb@example.org,"Quote ""Q""",en\nc@example.org,,en\n', 'l');
    await source.unsubscribe((await source.findByEmail('b@example.org'))!.id, 'one-click');
    const text = await exportText(source, 'l');

    const target = fresh();
    const { summary } = await importText(target, text, 'copy');
    expect(summary).toMatchObject({ created: 3, rejected: 0 });
    expect(await exportText(target, 'copy')).toBe(text);
    // Importing the export again into the source changes nothing and resubscribes no one.
    expect((await importText(source, text, 'l')).summary).toMatchObject({ unchanged: 3 });
    expect((await source.findByEmail('b@example.org'))!.status).toBe('unsubscribed');
  });

  it('reads what German spreadsheets save: BOM, semicolons, CRLF', async () => {
    const store = fresh();
    const { summary } = await importText(store, '\uFEFFE-Mail;Email;Name;Lang\r\nx;m@example.org;"Müller; Hans";en\r\n', 'de-excel');
    expect(summary).toMatchObject({ created: 1, rejected: 0 });
    expect(await store.findByEmail('m@example.org')).toMatchObject({ name: 'Müller; Hans', lang: 'en' });
  });

  it('refuses a file without an email column, naming what it found', async () => {
    await expect(importText(fresh(), 'mail,name\na@example.org,A\n', 'l')).rejects.toThrow(/no "email" column \(found: mail, name\)/);
  });
});

describe('depesche subscribers', () => {
  // In-process through commander for speed; one real process below proves the wiring.
  async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const saved = { env: { ...process.env }, out: process.stdout.write, err: process.stderr.write, exitCode: process.exitCode };
    let stdout = '';
    let stderr = '';
    process.env.REDIS_URL = server.url;
    process.env.DEPESCHE_PREFIX = 'cli';
    process.stdout.write = ((chunk: string | Uint8Array) => ((stdout += String(chunk)), true)) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
    process.exitCode = 0;
    try {
      const program = createProgram(COMMANDS, { exitOverride: true });
      try {
        await program.parseAsync(['subscribers', ...args], { from: 'user' });
      } catch (error) {
        if (!(error instanceof CommanderError)) throw error;
        return { code: error.exitCode, stdout, stderr };
      }
      return { code: Number(process.exitCode ?? 0), stdout, stderr };
    } finally {
      process.stdout.write = saved.out;
      process.stderr.write = saved.err;
      process.exitCode = saved.exitCode;
      process.env = saved.env;
    }
  }

  it('imports with a report, adds, removes, lists counts and exports', async () => {
    const file = join(dir, 'list.csv');
    await writeFile(file, 'email,name,lang\nx@example.org,X,en\nbad,Bad,de\ny@example.org,Y,\n');
    const imported = await cli(['import', file, '--list', 'news']);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain('created 2');
    expect(imported.stdout).toContain('rejected 1');
    const report = parse(await readFile(`${file}.rejected.csv`, 'utf8'), { columns: true }) as Record<string, string>[];
    expect(report).toEqual([{ row: '3', reason: 'email "bad" is not a valid address', email: 'bad', name: 'Bad', lang: 'de', status: '' }]);

    expect((await cli(['add', 'Z@Example.org', '--list', 'news', '--lang', 'en', '--name', 'Zed'])).stdout).toContain('Z@example.org (id ');
    const removed = await cli(['remove', 'x@example.org', '--list', 'news']);
    expect(removed).toMatchObject({ code: 0, stdout: 'x@example.org: removed from "news"\n' });
    const shown = JSON.parse((await cli(['show', 'z@example.org'])).stdout) as Record<string, unknown>;
    expect(shown).toMatchObject({ email: 'Z@example.org', name: 'Zed', lang: 'en', status: 'active', lists: ['news'], consent: { source: 'cli' } });
    expect(shown).not.toHaveProperty('history');
    expect(JSON.parse((await cli(['show', 'z@example.org', '--consent'])).stdout)).toMatchObject({ history: [] });
    // x left "news" (ops removed them): a re-import does not put them back.
    await writeFile(join(dir, 'again.csv'), 'email\nx@example.org\n');
    expect((await cli(['import', join(dir, 'again.csv'), '--list', 'news'])).stdout).toContain('not put back on the list: 1');
    const table = await cli(['lists']);
    expect(table.stdout.split('\n')[1]).toMatch(/^news\s+private\s+2\s+0\s+2\s+0\s+0\s+0\s+1\s+1$/);

    const out = join(dir, 'out.csv');
    await cli(['export', '--list', 'news', '--out', out]);
    expect(await readFile(out, 'utf8')).toBe('email,name,lang,status\ny@example.org,Y,de,active\nZ@example.org,Zed,en,active\n');

    const missing = await cli(['export', '--list', 'nope']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('There is no list "nope"');
    const badAddress = await cli(['add', 'not-an-address', '--list', 'news']);
    expect(badAddress.code).toBe(1);
    expect(badAddress.stderr).toContain('not a valid address');

    expect((await cli(['forget', 'z@example.org', '--reason', 'asked by mail'])).code).toBe(1);
    expect((await cli(['forget', 'z@example.org', '--yes'])).code).toBe(1);
    expect((await cli(['forget', 'z@example.org', '--yes', '--reason', 'asked by mail'])).stdout).toBe('Z@example.org: erased (was on news)\n');
    await cli(['export', '--list', 'news', '--out', out]);
    expect(await readFile(out, 'utf8')).toBe('email,name,lang,status\ny@example.org,Y,de,active\n');
  });

  it('runs as a real process through bin/depesche.js', async () => {
    const run = promisify(execFile);
    const { stdout } = await run(process.execPath, ['bin/depesche.js', 'subscribers', 'lists', '--json'], {
      env: { ...process.env, REDIS_URL: server.url, DEPESCHE_PREFIX: 'cli' },
    });
    expect(JSON.parse(stdout)).toMatchObject([{ name: 'news', total: 1, activeByLang: { de: 1, en: 0 } }]);
  }, 120_000);
});
