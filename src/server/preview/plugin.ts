import { randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { resolve } from 'node:path';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { httpStatusOf } from '../../core/http-status.ts';
import { DepescheError, isDepescheError } from '../../errors.ts';
import { editionFor } from '../../core/edition-fallback.ts';
import { isLang, LANGS, type Lang } from '../../core/lang.ts';
import { fillSample } from '../../render/sample.ts';
import { loadAssets } from './assets.ts';
import { sendAsset } from '../shared/assets.ts';
import { workerLinter } from './linter.ts';
import { emulateDarkMode, injectHead, type DarkModeResult } from './dark-mode.ts';
import { errorBody, GMAIL_CLIP_BYTES, indexBody, issueBody, layout, SIZE_WARN_BYTES, templatesBody } from './pages.ts';
import { parseProofRequest, sendProof, type ProofSettings } from './proof.ts';
import { describeFailure, displayPath, PreviewState, type PreviewEvent } from './state.ts';
import type { PreviewEdition, PreviewFinding, PreviewOptions } from './types.ts';
import { watchContent, type ContentWatcher } from './watch.ts';

export const DEFAULT_MAIL_FROM = 'Depesche <newsletter@localhost>';

// Slugs are folder names under issues/; anything else (dots, slashes, encoded or not) is refused
// before it gets near the compiler or the disk.
const slugPattern = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/;

// The mail in the frame may contain anything an editor pasted; it gets no scripts, no
// plugins and no network but images, fonts and styles, even when opened on its own.
const FRAME_CSP = "default-src 'none'; img-src * data: blob:; style-src * 'unsafe-inline'; font-src * data:; frame-ancestors 'self'; sandbox allow-same-origin allow-popups allow-popups-to-escape-sandbox";
const PAGE_CSP = "default-src 'self'; img-src * data:; style-src 'self' 'unsafe-inline'; font-src * data:; frame-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'";

function notFound(what: string): DepescheError {
  return new DepescheError('E_NOT_FOUND', `${what} does not exist in this preview.`, {
    hint: 'Open the index to see every issue the preview knows.',
  });
}

/**
 * The editor's preview as a fastify plugin: index, issue view, the mail in a frame, JSON
 * for the page script, live updates over server-sent events, and proof sends. Every link
 * in the pages is relative, so it works at the root or under any prefix:
 * `app.register(previewPlugin, { prefix: '/preview', ...options })`.
 */
export async function previewPlugin(app: FastifyInstance, options: PreviewOptions): Promise<void> {
  const contentDir = resolve(options.contentDir);
  const compilerLint = (slug: string | null): Promise<PreviewFinding[]> => (slug !== null ? options.compiler.lint(slug) : (options.compiler.lintTemplates?.() ?? Promise.resolve([])));
  const linter = options.lintThread === false ? undefined : workerLinter({ contentDir, publicUrl: options.publicUrl }, compilerLint);
  const fallback = options.editionFallback ?? 'other';
  /** What readers of a language the issue lacks get, in one sentence for the side-by-side view. */
  const missingNote = (langs: readonly Lang[], lang: Lang): string => {
    const name = lang.toUpperCase();
    if (langs.length === 0) return `No ${name} edition.`;
    const choice = editionFor(langs, lang, fallback);
    return choice.kind === 'skip'
      ? `This issue has no ${name} edition. Readers of ${name} get nothing; a send counts them as "skipped: no edition in their language" (EDITION_FALLBACK=skip).`
      : `This issue has no ${name} edition. Readers of ${name} get the ${choice.lang.toUpperCase()} edition, marked as ${choice.lang.toUpperCase()} (EDITION_FALLBACK=${fallback}).`;
  };
  const state = new PreviewState(options.compiler, contentDir, linter);
  const assets = loadAssets();
  const mailFrom = options.mailFrom ?? DEFAULT_MAIL_FROM;
  const proofSettings: ProofSettings = { from: mailFrom, publicUrl: options.publicUrl, ...options.proofSettings };
  const base = app.prefix || '/';
  // Versions restart at 1 with the server; pages tell a restart from an older answer by this.
  const instance = randomBytes(4).toString('hex');
  const streams = new Set<ServerResponse>();
  // Each build's editions are filled and darkened once, however many pages ask for them.
  const shown = new WeakMap<PreviewEdition, { html: string; text: string; dark: DarkModeResult }>();
  const display = (edition: PreviewEdition) => {
    let view = shown.get(edition);
    if (!view) {
      const filled = fillSample(edition, options.publicUrl);
      view = { ...filled, dark: emulateDarkMode(filled.html) };
      shown.set(edition, view);
    }
    return view;
  };
  let watcher: ContentWatcher | undefined;

  const html = (reply: FastifyReply, status: number, page: string) =>
    reply.code(status).type('text/html; charset=utf-8').header('content-security-policy', PAGE_CSP).send(page);

  const issueOf = async (slug: string) => {
    if (!slugPattern.test(slug)) throw notFound(`Issue "${slug.slice(0, 100)}"`);
    const summary = await state.summary(slug);
    if (!summary) throw notFound(`Issue "${slug}"`);
    return summary;
  };
  const langOf = (lang: string): Lang => {
    if (!isLang(lang)) throw notFound(`Language "${lang.slice(0, 20)}"`);
    return lang;
  };

  app.setErrorHandler((error: FastifyError | DepescheError, request: FastifyRequest, reply: FastifyReply) => {
    const status = isDepescheError(error)
      ? httpStatusOf(error.code)
      : error.statusCode && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    if (status >= 500) request.log.error({ err: error }, 'preview request failed');
    const message = isDepescheError(error) ? error.message : status >= 500 ? 'The preview hit an unexpected error; the server log has the details.' : error.message;
    const hint = isDepescheError(error) ? error.hint : undefined;
    if (request.url.startsWith(`${app.prefix}/api/`)) {
      return reply.code(status).send({ error: { code: isDepescheError(error) ? error.code : 'E_INTERNAL', message, hint } });
    }
    const detail = hint ? `${message}\n→ ${hint}` : message;
    return html(reply, status, layout({ links: options.links, title: status === 404 ? 'Not found' : 'Error', base, page: 'error', body: errorBody(status, status === 404 ? 'Not found' : 'Something went wrong', detail) }));
  });
  // At the root the host app owns the not-found handler; under a prefix the preview has its own.
  if (app.prefix) {
    app.setNotFoundHandler((request, reply) => {
      const error = notFound(`The page ${request.url.slice(0, 200)}`);
      return html(reply, 404, layout({ links: options.links, title: 'Not found', base, page: 'error', body: errorBody(404, 'Not found', error.message) }));
    });
  }

  // Without a watcher (e.g. `depesche serve`) nothing tells the cache about edits, so each
  // page view lists again and rebuilds the issue it shows; the frame and JSON that follow reuse it.
  const fresh = options.watch === false;

  app.get('/', async (_request, reply) => {
    let body: string;
    if (fresh) state.forgetList();
    try {
      const summaries = await state.summaries();
      const rows = await Promise.all(summaries.map(async (summary) => ({ summary, state: await state.get(summary.slug) })));
      body = indexBody(rows);
    } catch (error) {
      body = indexBody([], describeFailure(error, contentDir));
    }
    return html(reply, 200, layout({ links: options.links, title: 'Issues', base, page: 'index', body }));
  });

  app.get<{ Params: { slug: string } }>('/issues/:slug', async (request, reply) => {
    if (fresh) state.forgetList();
    const summary = await issueOf(request.params.slug);
    const issue = fresh ? await state.rebuild(summary.slug) : await state.get(summary.slug);
    // The editions that are built (a draft left out of `languages:` is not); the files while it fails.
    const langs = issue.editions?.map((e) => e.lang) ?? summary.langs;
    return html(reply, 200, layout({ links: options.links, title: summary.title || summary.slug, base, page: 'issue', slug: summary.slug, body: issueBody({ ...summary, langs }) }));
  });

  app.get<{ Params: { slug: string; lang: string }; Querystring: { scheme?: string } }>('/issues/:slug/:lang/email.html', async (request, reply) => {
    const summary = await issueOf(request.params.slug);
    const lang = langOf(request.params.lang);
    const issue = await state.get(summary.slug);
    const edition = issue.editions?.find((e) => e.lang === lang);
    if (!edition) {
      if (issue.failure) {
        throw new DepescheError('E_CONFLICT', `"${summary.slug}" does not build, so there is no ${lang} mail to show.`, {
          hint: 'The issue page shows the error with its file and line.',
        });
      }
      throw notFound(`The ${lang} edition of "${summary.slug}"`);
    }
    const view = display(edition);
    let page = request.query.scheme === 'dark' ? view.dark.html : view.html;
    // Links open in a new tab instead of replacing the mail inside its frame.
    page = injectHead(page, '<base target="_blank">');
    return reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', FRAME_CSP)
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .send(page);
  });

  // The template view: what the templates and locale files cause, found once for all
  // issues, and each template's probe mail as sent and as GMX / WEB.DE desktop show it.
  const templateFindings = async () =>
    (await (linter ? linter.lintTemplates() : compilerLint(null))).map((f) => ({ ...f, file: f.file ? displayPath(f.file, contentDir) : undefined }));

  app.get('/templates', async (_request, reply) => {
    const templates = (await options.compiler.listTemplates?.()) ?? [];
    const findings = options.compiler.lintTemplates ? await templateFindings() : null;
    return html(reply, 200, layout({ links: options.links, title: 'Templates', base, page: 'templates', body: templatesBody(templates.map((t) => ({ ...t, file: displayPath(t.file, contentDir) })), findings) }));
  });

  app.get('/api/templates', async () => ({
    templates: ((await options.compiler.listTemplates?.()) ?? []).map((t) => ({ ...t, file: displayPath(t.file, contentDir) })),
    findings: options.compiler.lintTemplates ? await templateFindings() : null,
  }));

  app.get<{ Params: { name: string; lang: string }; Querystring: { stripped?: string } }>('/templates/:name/:lang/email.html', async (request, reply) => {
    const { name } = request.params;
    const lang = langOf(request.params.lang);
    const templates = (await options.compiler.listTemplates?.()) ?? [];
    if (!options.compiler.compileProbe || !templates.some((t) => t.name === name)) throw notFound(`Template "${name.slice(0, 60)}"`);
    const edition = (await options.compiler.compileProbe(name)).find((e) => e.lang === lang);
    if (!edition) throw notFound(`The ${lang} probe of "${name}"`);
    let page = fillSample(edition, options.publicUrl).html;
    // As GMX and WEB.DE desktop webmail show it: every <style> element gone.
    if (request.query.stripped === '1') page = page.replace(/<style\b[^>]*>[\s\S]*?<\/style>/gi, '');
    page = injectHead(page, '<base target="_blank">');
    return reply.type('text/html; charset=utf-8').header('content-security-policy', FRAME_CSP).header('cache-control', 'no-store').header('x-content-type-options', 'nosniff').send(page);
  });

  app.get<{ Params: { name: string } }>('/assets/:name', async (request, reply) => {
    const asset = assets.get(request.params.name);
    if (!asset) throw notFound(`The file ${request.params.name.slice(0, 100)}`);
    return sendAsset(request, reply, asset);
  });

  app.get('/api/issues', async () => {
    const summaries = await state.summaries();
    return Promise.all(
      summaries.map(async (summary) => {
        const issue = await state.get(summary.slug);
        return {
          ...summary,
          files: undefined,
          version: issue.version,
          sizes: Object.fromEntries((issue.editions ?? []).map((e) => [e.lang, e.htmlBytes])),
          failure: issue.failure,
          findings: issue.findings?.length,
        };
      }),
    );
  });

  app.get<{ Params: { slug: string } }>('/api/issues/:slug', async (request) => {
    const summary = await issueOf(request.params.slug);
    const issue = await state.get(summary.slug);
    return {
      slug: summary.slug,
      title: summary.title,
      date: summary.date,
      template: summary.template,
      langs: summary.langs,
      instance,
      version: issue.version,
      compileMs: Math.round(issue.compileMs),
      failure: issue.failure ?? null,
      findings: issue.findings?.map((f) => ({ ...f, file: f.file ? displayPath(f.file, contentDir) : undefined, related: f.related ? { ...f.related, file: displayPath(f.related.file, contentDir) } : undefined })) ?? null,
      lintedVersion: issue.lintedVersion,
      limits: { warnBytes: SIZE_WARN_BYTES, clipBytes: GMAIL_CLIP_BYTES },
      missing: issue.editions ? LANGS.filter((lang) => !issue.editions!.some((e) => e.lang === lang)).map((lang) => ({ lang, note: missingNote(issue.editions!.map((e) => e.lang), lang) })) : [],
      proof: Boolean(options.transport),
      editions: (issue.editions ?? []).map((edition) => {
        const filled = display(edition);
        const dark = filled.dark;
        return {
          lang: edition.lang,
          subject: edition.subject,
          preheader: edition.preheader,
          from: mailFrom,
          htmlBytes: edition.htmlBytes,
          sourceFile: displayPath(edition.sourceFile, contentDir),
          html: filled.html,
          text: filled.text,
          mjml: edition.mjml,
          dark: { rewrittenQueries: dark.rewrittenQueries, declaresDark: dark.declaresDark },
        };
      }),
    };
  });

  app.post<{ Params: { slug: string }; Body: { to?: unknown; lang?: unknown } }>('/api/issues/:slug/proof', async (request) => {
    // A page on another site may post forms to loopback; JSON plus a same-origin check keeps
    // proof sends to this page.
    if (!String(request.headers['content-type'] ?? '').startsWith('application/json')) {
      throw new DepescheError('E_INPUT', 'Proof requests must be JSON.', { hint: 'Send {"to": "...", "lang": "de|en|all"} as application/json.' });
    }
    const origin = request.headers.origin;
    if (origin && new URL(origin).host !== request.headers.host) {
      throw new DepescheError('E_INPUT', 'Proof requests are accepted from the preview page only.');
    }
    const summary = await issueOf(request.params.slug);
    const proof = parseProofRequest(summary.slug, request.body ?? {});
    if (!options.transport) {
      throw new DepescheError('E_CONFLICT', 'This preview has no mail transport, so it cannot send proofs.', {
        hint: 'Start the preview with SMTP_URL set, or use `depesche test-send`.',
      });
    }
    const issue = await state.get(summary.slug);
    if (!issue.editions || issue.failure) {
      throw new DepescheError('E_CONTENT', `"${summary.slug}" does not build, so there is nothing to send.`, { hint: issue.failure?.message });
    }
    const sent = await sendProof(issue.editions, proof, options.transport, proofSettings);
    return { sent: sent.map(({ lang, subject, messageId }) => ({ lang, subject, messageId })) };
  });

  app.get('/events', (request, reply) => {
    reply.hijack();
    const stream = reply.raw;
    stream.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    stream.write('retry: 1000\n: connected\n\n');
    streams.add(stream);
    request.raw.on('close', () => streams.delete(stream));
  });

  const broadcast = (event: PreviewEvent) => {
    const frame = `data: ${JSON.stringify(event)}\n\n`;
    for (const stream of streams) stream.write(frame);
  };
  state.events.on('event', broadcast);
  // Proxies and browsers drop silent connections; a comment every 20 s keeps them open.
  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.write(': ping\n\n');
  }, 20_000);
  heartbeat.unref();

  app.addHook('onReady', async () => {
    if (options.watch === false) return;
    watcher = watchContent(contentDir, (path) => {
      state.changed(path).catch((error: unknown) => app.log.error({ err: error }, 'preview rebuild failed'));
    });
    await watcher.ready;
  });
  app.addHook('preClose', async () => {
    clearInterval(heartbeat);
    state.events.off('event', broadcast);
    for (const stream of streams) stream.end();
    streams.clear();
    await watcher?.close();
    await linter?.close();
  });
}
