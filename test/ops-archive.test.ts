import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTranslator } from '../src/i18n/index.ts';
import { createCompiler } from '../src/render/index.ts';
import { archiveRoutes } from '../src/server/public/archive.ts';

const PUBLIC_URL = 'https://news.example.org';

describe('public archive', () => {
  const app = Fastify();
  const compiler = createCompiler({ contentDir: new URL('../', import.meta.url).pathname, publicUrl: PUBLIC_URL });
  let slug: string;

  beforeAll(async () => {
    const translator = await loadTranslator(new URL('../locales', import.meta.url).pathname);
    archiveRoutes(app, { compiler, translator, publicUrl: PUBLIC_URL });
    await app.ready();
    const issues = await compiler.listIssues();
    expect(issues.length).toBeGreaterThan(0);
    slug = issues[0]!.slug;
  });
  afterAll(() => app.close());

  it('lists every issue with a link per language', async () => {
    const res = await app.inject({ url: '/archive' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain(`href="/archive/${slug}/de"`);
    expect(res.body).toContain(`href="/archive/${slug}/en"`);
    // Labels come from locales/, in each link's own language.
    expect(res.body).toContain('Archiv · Archive');
    expect(res.body).toContain('Lesen · Deutsch');
    expect(res.body).toContain('Read · English');
  });

  it('shows an edition with every merge marker filled and no personal link', async () => {
    for (const lang of ['de', 'en'] as const) {
      const res = await app.inject({ url: `/archive/${slug}/${lang}` });
      expect(res.statusCode).toBe(200);
      expect(res.body).toContain(`lang="${lang}"`);
      expect(res.body).not.toContain('%%depesche.');
      expect(res.body).toContain(`${PUBLIC_URL}/unsubscribe?lang=${lang}`);
      expect(res.body).not.toMatch(/\/unsubscribe\/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/);
    }
  });

  it('answers unknown issues, languages and traversal attempts with 404', async () => {
    for (const url of [`/archive/${slug}/fr`, '/archive/no-such-issue/de', '/archive/..%2F..%2Fetc/de', '/archive/%2e%2e/de']) {
      expect((await app.inject({ url })).statusCode, url).toBe(404);
    }
  });

  it('explains the token-less unsubscribe page in the reader’s language', async () => {
    const res = await app.inject({ url: '/unsubscribe?lang=en' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toContain('in the email you received');
    expect((await app.inject({ url: '/unsubscribe?lang=de' })).body).toContain('in der E-Mail, die Sie erhalten haben');
  });
});
