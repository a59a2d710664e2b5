import type { FastifyInstance } from 'fastify';
import { isLang, LANGS, type Lang } from '../../core/lang.ts';
import type { Greeting } from '../../core/edition.ts';
import { escapeHtml, stripControl } from '../../core/escape.ts';
import { feedPath, PUBLIC_ROUTES, publicPaths, publicUrls } from '../../core/public-urls.ts';
import type { Translator } from '../../i18n/index.ts';
import { compileMerge, fillMerge, greetingFor, type MergeValues } from '../../render/merge.ts';
import { html, Html } from '../shared/html.ts';

/**
 * The archive shows what was sent, nothing else. It never reads `issues/` and never
 * compiles anything: it serves the frozen editions of campaigns that finished sending,
 * and of issues published on purpose (`depesche publish`). A draft, or an issue that
 * was never sent, cannot appear. The composition root adapts the campaign store to this.
 */
export interface ArchiveEntry {
  slug: string;
  lang: Lang;
  title: string;
  subject: string;
  preheader: string;
  /** When it finished sending, or was published (ms since the epoch). */
  at: number;
}

export interface ArchivedEdition extends ArchiveEntry {
  /** The HTML as it was sent, with its merge markers. */
  html: string;
  greeting: Greeting;
}

export interface ArchiveSource {
  /** One entry per issue and language, newest first. */
  entries(): Promise<ArchiveEntry[]>;
  edition(slug: string, lang: Lang): Promise<ArchivedEdition | null>;
}

export interface ArchiveOptions {
  source: ArchiveSource;
  publicUrl: string;
  /** Page texts come from `public.archive` in locales/. */
  translator: Translator;
  /** The newsletter's name, for page titles and feeds. */
  site: string;
}

const SLUG = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const CACHE = 'public, max-age=300';

/**
 * Merge values for a page anyone may open: no name, the anonymous greeting, and generic
 * unsubscribe and preferences pages instead of a subscriber's signed links.
 */
export function publicMergeValues(publicUrl: string, edition: { slug: string; lang: Lang; greeting: Greeting }): MergeValues {
  const urls = publicUrls(publicUrl);
  return {
    name: '',
    greeting: greetingFor(edition.greeting, ''),
    unsubscribeUrl: urls.withoutToken('unsubscribe', edition.lang),
    preferencesUrl: urls.withoutToken('preferences', edition.lang),
    viewOnlineUrl: urls.edition(edition.slug, edition.lang),
    subscribeUrl: urls.subscribe(edition.lang),
    archiveUrl: urls.archive(edition.lang),
  };
}

function frame(lang: Lang, title: string, body: Html, head: Html | string = ''): string {
  return html`<!doctype html><html lang="${lang}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title}</title>${head}<style>body{font:16px/1.5 system-ui,sans-serif;max-width:640px;margin:40px auto;padding:0 16px;color:#1d2330}
li{margin:.6em 0}.muted{color:#667085}a{color:#1570ef}section{margin:2rem 0}</style></head><body>${body}</body></html>`.value;
}

const formatDate = (lang: Lang, at: number) => new Intl.DateTimeFormat(lang === 'de' ? 'de-DE' : 'en-GB', { dateStyle: 'long', timeZone: 'UTC' }).format(new Date(at));

/**
 * `GET /archive` lists the editions per language, newest first (`?lang=` shows one);
 * `GET /archive/:slug/:lang` shows one as it was sent, with no personal data filled in;
 * `GET /archive/<lang>.atom` is each language's Atom feed.
 */
export function archiveRoutes(app: FastifyInstance, options: ArchiveOptions): void {
  const { source, translator } = options;
  const urls = publicUrls(options.publicUrl);
  const paths = publicPaths();
  const t = (lang: Lang, key: string, vars?: Record<string, unknown>) => translator.t(lang, `public.archive.${key}`, vars);
  const notFound = (lang: Lang) => frame(lang, t(lang, 'title'), html`<h1>${t(lang, 'notFound')}</h1><p><a href="${PUBLIC_ROUTES.archive}">${t(lang, 'title')}</a></p>`);

  app.get<{ Querystring: { lang?: string } }>(PUBLIC_ROUTES.archive, async (request, reply) => {
    const only = isLang(request.query.lang) ? request.query.lang : undefined;
    const langs = only ? [only] : [...LANGS];
    const entries = await source.entries();
    const sections = langs.map((lang) => {
      const mine = entries.filter((e) => e.lang === lang);
      return html`<section lang="${lang}"><h2>${t(lang, 'title')} · ${translator.t(lang, `public.langName.${lang}`)}</h2>
<p class="muted"><a href="${paths.feed(lang)}" type="application/atom+xml">${t(lang, 'feed')}</a></p>
<ul>${mine.length ? mine.map((e) => html`<li><a hreflang="${lang}" href="${paths.edition(e.slug, lang)}"><b>${e.title || e.subject}</b></a><br><span class="muted">${t(lang, 'sentOn', { date: formatDate(lang, e.at) })}</span></li>`) : html`<li class="muted">${t(lang, 'empty')}</li>`}</ul></section>`;
    });
    const pageLang = only ?? 'de';
    const heading = only ? `${t(only, 'title')} · ${options.site}` : `${LANGS.map((l) => t(l, 'title')).join(' · ')} · ${options.site}`;
    const feeds = new Html(langs.map((lang) => `<link rel="alternate" type="application/atom+xml" hreflang="${lang}" href="${escapeHtml(urls.feed(lang))}">`).join(''));
    return reply.header('cache-control', CACHE).type('text/html; charset=utf-8').send(frame(pageLang, heading, html`<h1>${heading}</h1>${sections}`, feeds));
  });

  for (const lang of LANGS) {
    app.get(feedPath(lang), async (_request, reply) => {
      const entries = (await source.entries()).filter((e) => e.lang === lang).slice(0, 50);
      return reply.header('cache-control', CACHE).type('application/atom+xml; charset=utf-8').send(atomFeed(lang, entries, { site: options.site, title: t(lang, 'title'), urls }));
    });
  }

  app.get<{ Params: { slug: string; lang: string } }>(PUBLIC_ROUTES.edition, async (request, reply) => {
    const { slug, lang } = request.params;
    if (!SLUG.test(slug) || !isLang(lang)) return reply.code(404).type('text/html; charset=utf-8').send(notFound(isLang(lang) ? lang : 'en'));
    const edition = await source.edition(slug, lang);
    if (!edition) return reply.code(404).type('text/html; charset=utf-8').send(notFound(lang));
    const page = fillMerge(compileMerge(edition.html), publicMergeValues(options.publicUrl, edition), 'html');
    return reply.header('cache-control', CACHE).type('text/html; charset=utf-8').send(page);
  });

  // Links in an archived edition cannot carry a subscriber's token: point readers to the
  // link in their own mail.
  for (const path of [PUBLIC_ROUTES.unsubscribeWithoutToken, PUBLIC_ROUTES.preferencesWithoutToken]) {
    app.get<{ Querystring: { lang?: string } }>(path, async (request, reply) => {
      const lang: Lang = isLang(request.query.lang) ? request.query.lang : 'de';
      return reply
        .type('text/html; charset=utf-8')
        .send(frame(lang, t(lang, 'title'), html`<p>${t(lang, 'noPersonal')}</p><p><a href="${PUBLIC_ROUTES.archive}">${t(lang, 'title')}</a></p>`));
    });
  }
}

const xml = (value: string) => escapeHtml(stripControl(value));

/** An Atom 1.0 feed (RFC 4287) of one language's editions. */
export function atomFeed(lang: Lang, entries: ArchiveEntry[], options: { site: string; title: string; urls: ReturnType<typeof publicUrls> }): string {
  const { urls } = options;
  const updated = new Date(entries[0]?.at ?? 0).toISOString();
  const items = entries
    .map((e) => {
      const link = urls.edition(e.slug, e.lang);
      return `  <entry>
    <title>${xml(e.subject || e.title)}</title>
    <id>${xml(link)}</id>
    <link rel="alternate" type="text/html" href="${xml(link)}"/>
    <updated>${new Date(e.at).toISOString()}</updated>
    <summary>${xml(e.preheader)}</summary>
  </entry>`;
    })
    .join('\n');
  return `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="${lang}">
  <title>${xml(`${options.site} · ${options.title}`)}</title>
  <id>${xml(urls.feed(lang))}</id>
  <link rel="self" type="application/atom+xml" href="${xml(urls.feed(lang))}"/>
  <link rel="alternate" type="text/html" href="${xml(urls.archive(lang))}"/>
  <updated>${updated}</updated>
  <author><name>${xml(options.site)}</name></author>
${items}
</feed>
`;
}
