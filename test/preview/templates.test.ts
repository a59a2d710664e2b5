import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCompiler } from '../../src/render/index.ts';
import { startPreviewServer, type PreviewServer } from '../../src/server/preview/server.ts';
import { copyContent, rawGet, type ContentCopy } from './content.ts';

const GERMAN_ONLY = '2026-02-18-chinas-ki-landkarte';

let content: ContentCopy;
let server: PreviewServer;
beforeAll(async () => {
  content = await copyContent();
  server = await startPreviewServer({ port: 0, contentDir: content.dir, compiler: createCompiler({ contentDir: content.dir }), watch: false, lintThread: false });
});
afterAll(async () => {
  await server?.close();
  await content?.remove();
});

describe('preview of an issue in one language', () => {
  it('lists it, builds its one edition and says what English readers get', async () => {
    expect((await rawGet(server.url, '/')).body).toContain(`href="issues/${GERMAN_ONLY}?lang=de">DE</a></td>`);
    const view = await rawGet(server.url, `/issues/${GERMAN_ONLY}`);
    expect(view.body).toContain('<button type="button" data-lang="de">DE</button><button type="button" data-lang="both"');
    const data = JSON.parse((await rawGet(server.url, `/api/issues/${GERMAN_ONLY}`)).body);
    expect(data.failure).toBeNull();
    expect(data.editions.map((e: { lang: string }) => e.lang)).toEqual(['de']);
    expect(data.missing).toEqual([{ lang: 'en', note: 'This issue has no EN edition. Readers of EN get the DE edition, marked as DE (EDITION_FALLBACK=other).' }]);
    const missing = await rawGet(server.url, `/issues/${GERMAN_ONLY}/en/email.html`);
    expect(missing.status).toBe(404);
    expect(missing.body).toContain(`The en edition of &quot;${GERMAN_ONLY}&quot; does not exist`);
  });
});

describe('template view', () => {
  it('lists the templates with their (absent) findings and shows each probe with and without <style>', async () => {
    const page = await rawGet(server.url, '/templates');
    expect(page.status).toBe(200);
    expect(page.body).toContain('No findings: the templates pass every template rule');
    expect(page.body).toContain('data-template="article"');
    expect(page.body).toContain('src="templates/briefing/de/email.html?stripped=1"');
    const api = JSON.parse((await rawGet(server.url, '/api/templates')).body);
    expect(api.templates.map((t: { name: string; body: string; greeting: boolean }) => [t.name, t.body, t.greeting])).toEqual([
      ['article', 'markdown', false],
      ['briefing', 'blocks', true],
    ]);
    expect(api.findings).toEqual([]);
    const sent = await rawGet(server.url, '/templates/article/de/email.html');
    const stripped = await rawGet(server.url, '/templates/article/de/email.html?stripped=1');
    expect(sent.body).toMatch(/<style/);
    expect(stripped.body).not.toMatch(/<style/);
    expect(stripped.body).toContain('Probeausgabe');
    expect((await rawGet(server.url, '/templates/nope/de/email.html')).status).toBe(404);
  });
});
