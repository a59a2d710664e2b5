import type { FastifyInstance } from 'fastify';
import { DepescheError, isDepescheError } from '../../errors.ts';
import { isLang, LANGS, type Lang } from '../../core/lang.ts';
import type { Edition } from '../../core/edition.ts';
import { publicUrls } from '../../core/public-urls.ts';
import { compileMerge, fillMerge, greetingFor, type MergeValues } from '../../render/merge.ts';
import { escapeHtml } from '../../core/escape.ts';
import type { Translator } from '../../i18n/index.ts';

/** What the archive needs from the compile pipeline; `createCompiler()` satisfies it. */
export interface ArchiveCompiler {
  listIssues(): Promise<{ slug: string; langs: readonly Lang[]; title: string; date: string }[]>;
  compile(slug: string): Promise<Edition[]>;
}

export interface ArchiveOptions {
  compiler: ArchiveCompiler;
  publicUrl: string;
  /** Page texts come from `public.archive` in locales/. */
  translator: Translator;
  /** How long a compiled edition is served from memory. @defaultValue 60_000 */
  cacheMs?: number;
}

const SLUG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * Merge values for a page anyone may open: no name, the anonymous greeting, and generic
 * unsubscribe and preferences pages instead of a subscriber's signed links.
 */
export function publicMergeValues(publicUrl: string, edition: Edition): MergeValues {
  const urls = publicUrls(publicUrl);
  return {
    name: '',
    greeting: greetingFor(edition.greeting, ''),
    // Generic pages instead of a subscriber's signed links: anyone may open the archive.
    unsubscribeUrl: `${urls.base}/unsubscribe?lang=${edition.lang}`,
    preferencesUrl: `${urls.base}/preferences?lang=${edition.lang}`,
    viewOnlineUrl: urls.edition(edition.slug, edition.lang),
    subscribeUrl: urls.subscribe(edition.lang),
    archiveUrl: urls.archive(),
  };
}

function frame(lang: Lang, title: string, body: string): string {
  return `<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:640px;margin:40px auto;padding:0 16px;color:#1d2330}
li{margin:.6em 0}.muted{color:#667085}a{color:#1570ef}</style></head><body>${body}</body></html>`;
}

/**
 * The public archive: `GET /archive` lists every issue with a link per language, and
 * `GET /archive/:slug/:lang` shows one edition as the "view online" link opens it, with
 * no personal data filled in. Register it on the public app.
 */
export function archiveRoutes(app: FastifyInstance, options: ArchiveOptions): void {
  const cacheMs = options.cacheMs ?? 60_000;
  const t = (lang: Lang, key: string) => options.translator.t(lang, `public.archive.${key}`);
  const notFound = (lang: Lang) =>
    frame(lang, t(lang, 'title'), `<h1>${escapeHtml(t(lang, 'notFound'))}</h1><p><a href="/archive">${escapeHtml(t(lang, 'title'))}</a></p>`);
  // Compiling costs an MJML run; a public URL must not let anyone trigger one per request.
  const cache = new Map<string, { at: number; html: string }>();

  app.get('/archive', async (_request, reply) => {
    const issues = await options.compiler.listIssues();
    const items = issues
      .map(
        (issue) =>
          `<li><b>${escapeHtml(issue.title)}</b> <span class="muted">${escapeHtml(issue.date)}</span><br>` +
          issue.langs.map((lang) => `<a hreflang="${lang}" href="/archive/${encodeURIComponent(issue.slug)}/${lang}">${escapeHtml(`${t(lang, 'read')} · ${options.translator.t(lang, `public.langName.${lang}`)}`)}</a>`).join(' &nbsp; ') +
          '</li>',
      )
      .join('');
    const heading = LANGS.map((l) => t(l, 'title')).join(' · ');
    return reply
      .header('cache-control', 'public, max-age=300')
      .type('text/html; charset=utf-8')
      .send(frame('de', heading, `<h1>${heading}</h1><ul>${items || '<li class="muted">—</li>'}</ul>`));
  });

  app.get<{ Params: { slug: string; lang: string } }>('/archive/:slug/:lang', async (request, reply) => {
    const { slug, lang } = request.params;
    if (!SLUG.test(slug) || !isLang(lang)) return reply.code(404).type('text/html; charset=utf-8').send(notFound(isLang(lang) ? lang : 'en'));
    const key = `${slug}/${lang}`;
    const hit = cache.get(key);
    let html = hit && Date.now() - hit.at < cacheMs ? hit.html : undefined;
    if (!html) {
      const known = (await options.compiler.listIssues()).find((i) => i.slug === slug);
      if (!known || !known.langs.includes(lang)) {
        return reply.code(404).type('text/html; charset=utf-8').send(notFound(lang));
      }
      let editions: Edition[];
      try {
        editions = await options.compiler.compile(slug);
      } catch (error) {
        // A broken issue on disk is the editor's problem; readers get a plain 404, the log the cause.
        request.log.error({ err: error, slug }, isDepescheError(error) ? error.format() : 'archive compile failed');
        return reply.code(404).type('text/html; charset=utf-8').send(notFound(lang));
      }
      const edition = editions.find((e) => e.lang === lang);
      if (!edition) throw new DepescheError('E_NOT_FOUND', `Issue ${slug} has no ${lang} edition.`);
      html = fillMerge(compileMerge(edition.html), publicMergeValues(options.publicUrl, edition), 'html');
      cache.set(key, { at: Date.now(), html });
    }
    return reply.header('cache-control', 'public, max-age=300').type('text/html; charset=utf-8').send(html);
  });

  // Links in an archived edition cannot carry a subscriber's token. Unless the public app
  // already answers these paths, point readers to the link in their own mail.
  for (const path of ['/unsubscribe', '/preferences']) {
    if (app.hasRoute({ method: 'GET', url: path })) continue;
    app.get<{ Querystring: { lang?: string } }>(path, async (request, reply) => {
      const lang: Lang = isLang(request.query.lang) ? request.query.lang : 'de';
      return reply
        .type('text/html; charset=utf-8')
        .send(frame(lang, t(lang, 'title'), `<p>${escapeHtml(t(lang, 'noPersonal'))}</p><p><a href="/archive">${escapeHtml(t(lang, 'title'))}</a></p>`));
    });
  }
}
