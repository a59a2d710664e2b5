import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CampaignService } from '../src/campaign/service.ts';
import type { CampaignCompiler } from '../src/campaign/index.ts';
import { formatStatusLine } from '../src/cli/commands/status.ts';
import type { Edition } from '../src/core/edition.ts';
import { createCompiler } from '../src/render/index.ts';
import { cli, LIST, makeFixture, tinyEditions, waitDone, waitUntil, type FixtureHost } from './support/campaign.ts';
import { startRedis, type TestRedis } from './support/redis.ts';
import { header, startSmtp, type TestSmtp } from './support/smtp.ts';

// The sample issue that has only de.md, compiled once by the real compiler.
const GERMAN_ONLY = '2026-02-18-chinas-ki-landkarte';

let redis: TestRedis;
let sink: TestSmtp;
const cleanups: (() => Promise<void>)[] = [];
const realCompiler = createCompiler({ contentDir: new URL('..', import.meta.url).pathname, publicUrl: 'https://news.example.org' });
let german: Promise<Edition[]> | undefined;
const compiler: CampaignCompiler = {
  compileForSend: async (slug) => ({ editions: slug === GERMAN_ONLY ? await (german ??= realCompiler.compile(slug)) : tinyEditions(slug), findings: [] }),
};
const host: FixtureHost = { redis: () => redis, sink: () => sink, compiler, cleanups };

beforeAll(async () => {
  [redis, sink] = await Promise.all([startRedis(), startSmtp()]);
  expect((await (german ??= realCompiler.compile(GERMAN_ONLY))).map((e) => e.lang)).toEqual(['de']);
}, 60_000);

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
  await sink?.close();
  await redis?.stop();
});

describe('a German-only issue sent to a list of German and English readers', () => {
  it('with EDITION_FALLBACK=other: English readers get the German edition, marked German; the dry run said so', async () => {
    const f = await makeFixture(host, 20, { EDITION_FALLBACK: 'other' });
    const dry = await f.service.create({ slug: GERMAN_ONLY, list: LIST, dryRun: true });
    expect(dry.plan).toMatchObject({ policy: 'other', byEdition: { de: 20 }, fallback: { en: 10 }, skipped: {}, total: 20, summary: 'de 10 · en 10 (get de)' });
    expect(dry.warnings.join('\n')).not.toMatch(/get nothing/);

    const id = (await f.service.create({ slug: GERMAN_ONLY, list: LIST })).id!;
    await f.worker();
    const status = await waitDone(f, id);
    expect(status).toMatchObject({ sent: 20, skipped: 0, failed: 0, unclear: 0, skippedBy: {} });
    expect(formatStatusLine(status)).toContain('editions: de 10 · en 10 (get de)');

    const mails = f.mails();
    expect(mails).toHaveLength(dry.plan.total);
    const subject = (await german!)[0]!.subject;
    for (let i = 0; i < f.emails.length; i++) {
      const mail = sink.mails.find((m) => m.to[0] === f.emails[i])!;
      expect(mail, f.emails[i]).toBeDefined();
      // Sent as what it is, whoever reads it: German text, German language tags.
      expect(header(mail.raw, 'Content-Language')).toBe('de');
      expect(mail.parsed.subject).toBe(subject);
      expect(mail.parsed.html).toMatch(/<html[^>]* lang="de"/);
      expect(mail.parsed.html).toContain(`/archive/${GERMAN_ONLY}/de`);
    }
    expect(f.langs.filter((l) => l === 'en')).toHaveLength(10);
  }, 90_000);

  it('with EDITION_FALLBACK=skip: English readers get nothing and are counted per reader, as the dry run and the CLI said', async () => {
    const f = await makeFixture(host, 20, { EDITION_FALLBACK: 'skip' });
    const dryCli = await cli(f.vars, 'send', GERMAN_ONLY, '--list', LIST, '--dry-run');
    expect(dryCli.code, dryCli.stderr).toBe(0);
    expect(dryCli.stdout).toContain('would reach 10 of 20 active subscriber(s) (de 10 · en 10 (skipped: no edition in their language))');
    expect(dryCli.stderr).toMatch(/no en edition: 10 en reader\(s\) of weekly get nothing/);
    const dry = await f.service.create({ slug: GERMAN_ONLY, list: LIST, dryRun: true });
    expect(dry.plan).toMatchObject({ policy: 'skip', byEdition: { de: 10 }, skipped: { en: 10 }, total: 10 });

    const id = (await f.service.create({ slug: GERMAN_ONLY, list: LIST })).id!;
    // The policy belongs to the campaign: a worker configured otherwise does not change it.
    await f.worker({ EDITION_FALLBACK: 'other' });
    const status = await waitDone(f, id);
    expect(status).toMatchObject({ total: 20, sent: 10, skipped: 10, skippedBy: { 'no-edition': 10 }, remaining: 0 });
    expect(status.skippedText).toBe('skipped 10 (no edition in their language 10)');
    expect(f.mails()).toHaveLength(dry.plan.total);
    for (let i = 0; i < f.emails.length; i++) {
      expect(sink.received(f.emails[i]!), f.emails[i]).toBe(f.langs[i] === 'de' ? 1 : 0);
      expect(await f.service.ledger.stateOf(id, f.ids[i]!)).toBe(f.langs[i] === 'de' ? 'sent' : 'skipped');
    }
    const line = await cli(f.vars, 'status', id);
    expect(line.stdout).toContain('editions: de 10 · en 10 (skipped: no edition in their language)');
    expect(line.stdout).toContain('skipped 10 (no edition in their language 10)');
    const json = JSON.parse((await cli(f.vars, 'status', id, '--json')).stdout);
    expect(json).toMatchObject({ skipped: 10, skippedBy: { 'no-edition': 10 }, plan: { skipped: { en: 10 } } });
  }, 90_000);
});

describe('what send says about the issue, as lint says it', () => {
  it('prints each lint warning with its relative path and line, and a wrong slug as a wrong slug with the issues there are', async () => {
    const f = await makeFixture(host, 4);
    const dry = await cli(f.vars, 'send', GERMAN_ONLY, '--list', LIST, '--dry-run');
    expect(dry.code, dry.stderr).toBe(0);
    // The 7-column table of the sample: "warning: issues/…/de.md:<line>: This table (7 columns) …", then what to do.
    const table = /^warning: issues\/2026-02-18-chinas-ki-landkarte\/de\.md:(\d+): This table \(7 columns\) needs about \d+ px.*\(table-width\)\n {2}→ .*fewer columns/m.exec(dry.stderr);
    expect(table, dry.stderr).not.toBeNull();
    const lint = await cli(f.vars, 'lint', GERMAN_ONLY);
    expect(lint.stdout).toContain(`issues/2026-02-18-chinas-ki-landkarte/de.md:${table![1]}: This table (7 columns)`);

    const wrong = await cli(f.vars, 'send', '2026-02-18-chinas-ki-landkart', '--list', LIST, '--dry-run');
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/There is no issue named "2026-02-18-chinas-ki-landkart"; issues are: .*2026-02-18-chinas-ki-landkarte/);
    expect(wrong.stderr).not.toMatch(/lint error/);
  }, 60_000);

  it('refuses an issue with lint errors, listing each with its relative path, line and what to do', async () => {
    const f = await makeFixture(host, 2);
    const file = join(new URL('..', import.meta.url).pathname, 'issues/x/de.md');
    const linty = new CampaignService({
      config: f.config,
      subscribers: f.store,
      compiler: { compileForSend: async (slug) => ({ editions: tinyEditions(slug), findings: [{ severity: 'error', rule: 'footnote', message: 'The footnote reference [^b] has no note.', hint: 'Write the note "[^b]: …".', file, line: 7 }] }) },
    });
    cleanups.push(() => linty.close());
    const refused = await linty.create({ slug: 'tiny', list: LIST, dryRun: true }).catch((error: unknown) => error as Error);
    expect(refused).toMatchObject({ code: 'E_LINT' });
    expect((refused as Error).message).toContain('  issues/x/de.md:7: The footnote reference [^b] has no note. (footnote)\n    → Write the note "[^b]: …".');
  });
});

describe('a reader who leaves the list after the fan-out', () => {
  it('gets nothing from that list, stays active, and is counted as skipped: left the list', async () => {
    const f = await makeFixture(host, 300);
    // One batch at a time, 100 mails a second: the readers from 200 on are still ahead when
    // they leave. They stay on another list, so they are active and only the list tells.
    for (const id of f.ids.slice(200)) await f.store.addToList(id, 'other');
    await f.worker({ WORKER_CONCURRENCY: '1' });
    const id = (await f.service.create({ slug: 'tiny', list: LIST, rate: 100 })).id!;
    await waitUntil('the fan-out and 30 mails', async () => (await f.service.status(id)).fannedOut && f.mails().length >= 30, 30_000, 10);
    for (const sid of f.ids.slice(200)) expect(await f.store.removeFromList(sid, LIST, { by: 'test', reason: 'leaves mid-send' })).toBe(true);
    expect(f.mails().length).toBeLessThan(200);
    const status = await waitDone(f, id);
    expect(status).toMatchObject({ total: 300, sent: 200, skipped: 100, skippedBy: { 'left-list': 100 }, unclear: 0, remaining: 0 });
    for (const email of f.emails.slice(200)) expect(sink.received(email), email).toBe(0);
    expect((await f.store.get(f.ids[250]!))?.status).toBe('active');
  }, 60_000);
});

describe('skips in the ledger', () => {
  it('count each reader once under their reason, however often the skip is written', async () => {
    const f = await makeFixture(host, 3);
    const id = (await f.service.create({ slug: 'tiny', list: LIST, at: new Date(Date.now() + 3_600_000) })).id!;
    await Promise.all([f.service.ledger.skip(id, f.ids[0]!, 'send', 'left-list'), f.service.ledger.skip(id, f.ids[0]!, 'send', 'left-list')]);
    await f.service.ledger.skip(id, f.ids[1]!, 'send', 'inactive');
    await f.service.ledger.skip(id, f.ids[2]!, 'send');
    const status = await f.service.status(id);
    expect(status).toMatchObject({ skipped: 3, skippedBy: { 'left-list': 1, inactive: 1 } });
    expect(status.skippedText).toBe('skipped 3 (left the list 1 · not active 1)');
    await f.service.cancel(id);
  });

  it('leave the status of a campaign still preparing readable (no editions yet, no plan)', async () => {
    const f = await makeFixture(host, 1);
    await f.service.campaigns.reserve({ id: 'cprep1', slug: 'tiny', list: LIST, mode: 'new', createdAt: Date.now(), at: Date.now(), expected: 1, readers: { de: 1, en: 0 }, fallback: 'skip' });
    expect((await f.service.status('cprep1')).plan).toEqual({ byEdition: {}, fallback: {}, skipped: {}, total: 0, policy: 'skip', summary: 'editions not frozen yet' });
  });
});
