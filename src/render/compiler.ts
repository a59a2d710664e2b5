import { relative, resolve, sep } from 'node:path';
import { createMarkdown } from '../content/markdown.ts';
import { issueFile, issueLangs, listIssueSlugs, parseIssue, readIssueSource, type BodyKind } from '../content/load.ts';
import { parseFrontMatter } from '../content/front-matter.ts';
import type { IssueDocument } from '../content/model.ts';
import { DepescheError } from '../errors.ts';
import { loadTranslator, type Translator } from '../i18n/index.ts';
import type { Lang } from '../core/lang.ts';
import type { Greeting } from '../core/edition.ts';
import type { CompiledEdition } from './edition.ts';
import { formatDate } from './format.ts';
import type { Finding } from './lint/finding.ts';
import { probeSources } from './lint/probe.ts';
import { MERGE_FIELDS, mergeMarker, type MergeField } from './merge.ts';
import { fillSample } from './sample.ts';
import { listTemplates, loadTemplate, readManifest, templatesDir, type Template, type TemplateContext } from './templates.ts';
import { fragment, renderText } from './text.ts';

export type { CompiledEdition } from './edition.ts';
export type { Finding } from './lint/finding.ts';

export interface CompilerOptions {
  /** Holds issues/, templates/ and locales/. */
  contentDir: string;
  /** Base of the sample links that build output and lint fill in. @defaultValue `http://127.0.0.1:4001` */
  publicUrl?: string;
}

export interface IssueSummary {
  slug: string;
  /** Languages with a file in the folder (drafts left out of `languages:` included). */
  langs: Lang[];
  title: string;
  date: string;
  template: string;
  files: Partial<Record<Lang, string>>;
}

export interface TemplateSummary {
  name: string;
  /** The template's layout file. */
  file: string;
  body: BodyKind;
  greeting: boolean;
}

export interface Compiler {
  /** Every issues/<slug>/ folder, newest first. */
  listIssues(): Promise<IssueSummary[]>;
  /**
   * The editions an issue is sent in: those `languages:` names, or every language file
   * when it names none (one or two). Throws DepescheError with file and line on bad input.
   */
  compile(slug: string): Promise<CompiledEdition[]>;
  /** Compile errors become error findings; then every rule on what the issue's own files cause. */
  lint(slug: string): Promise<Finding[]>;
  /** Every template under templates/. */
  listTemplates(): Promise<TemplateSummary[]>;
  /** The built-in probe issue, which uses every part and Markdown feature, built with one template. */
  compileProbe(template: string): Promise<CompiledEdition[]>;
  /** What the templates and locale files cause, once (`depesche lint --templates`). */
  lintTemplates(): Promise<Finding[]>;
  /**
   * Compiles once and lints exactly those editions, for a send: what is frozen is what was
   * linted. On a compile error the editions are empty and the findings say why.
   */
  compileForSend(slug: string): Promise<{ editions: CompiledEdition[]; findings: Finding[] }>;
  /** Drops caches a changed file affects; returns the affected slugs, or 'all'. */
  invalidate(changedPath: string): 'all' | string[];
}

export const DEFAULT_PUBLIC_URL = 'http://127.0.0.1:4001';

/** Merge markers by field, for templates: `{{merge.unsubscribeUrl}}`. */
const MERGE_MARKERS = Object.fromEntries(MERGE_FIELDS.map((f) => [f, mergeMarker(f)])) as Record<MergeField, string>;

/** An issue's files, parsed, and the languages it is sent in. */
interface LoadedIssue {
  /** Every language file in the folder, in LANGS order. */
  docs: IssueDocument[];
  /** The ones that are built and sent: declared in `languages:`, or all. */
  sent: IssueDocument[];
  /** Why a draft left out of `languages:` does not build yet; lint warns with it. */
  drafts: DepescheError[];
}

function findingFromError(error: DepescheError): Finding {
  return {
    severity: 'error',
    rule: 'compile',
    message: error.message,
    ...(error.hint ? { hint: error.hint } : {}),
    ...(error.location ? { file: error.location.file, ...(error.location.line ? { line: error.location.line } : {}) } : {}),
  };
}

/**
 * The compile pipeline with its caches. Templates, partials and locales are compiled
 * once and kept until `invalidate` names a file under templates/ or locales/. Issue
 * files are read on every compile and reparsed only when their text changed, so an
 * edit costs one Markdown parse of that file, template renders and MJML runs.
 */
export function createCompiler(options: CompilerOptions): Compiler {
  const contentDir = resolve(options.contentDir);
  const publicUrl = options.publicUrl ?? DEFAULT_PUBLIC_URL;
  const localesDir = resolve(contentDir, 'locales');
  const md = createMarkdown();
  let translator: Promise<Translator> | null = null;
  let templateKinds: Promise<Map<string, BodyKind>> | null = null;
  const templates = new Map<string, Promise<Template>>();
  // Parsed issue files by path, kept while their text is unchanged: an edit to one
  // language reparses only that file. Plain text depends on the locales, so it is
  // dropped with them.
  const documents = new Map<string, { source: string; doc: IssueDocument; text?: string }>();

  // A failed load must not stay cached, or fixing the file would not help until restart.
  function cached<T>(load: () => Promise<T>, drop: () => void): Promise<T> {
    const promise = load();
    promise.catch(drop);
    return promise;
  }
  const getTranslator = () => (translator ??= cached(() => loadTranslator(localesDir), () => (translator = null)));
  const getTemplateKinds = () =>
    (templateKinds ??= cached(
      async () => {
        const names = await listTemplates(contentDir);
        if (names.length === 0) {
          throw new DepescheError('E_TEMPLATE', `There are no templates in ${templatesDir(contentDir)}.`, {
            location: { file: templatesDir(contentDir) },
            hint: '--dir (or CONTENT_DIR) must name the folder that holds issues/, templates/ and locales/; each template is a folder templates/<name>/ with a layout.mjml.hbs.',
          });
        }
        const kinds = new Map<string, BodyKind>();
        for (const name of names) kinds.set(name, (await readManifest(contentDir, name)).body);
        return kinds;
      },
      () => (templateKinds = null),
    ));
  const getTemplate = async (name: string) => {
    let template = templates.get(name);
    if (!template) {
      const t = await getTranslator();
      template = cached(() => loadTemplate(contentDir, name, t), () => templates.delete(name));
      templates.set(name, template);
    }
    return template;
  };

  async function loadIssue(slug: string): Promise<LoadedIssue> {
    const langs = await issueLangs(contentDir, slug);
    const kinds = await getTemplateKinds();
    const docs: IssueDocument[] = [];
    const broken: { lang: Lang; error: DepescheError }[] = [];
    for (const lang of langs) {
      try {
        const input = await readIssueSource(contentDir, slug, lang);
        const known = documents.get(input.file);
        if (known?.source === input.source) {
          // Same text, perhaps saved again: keep the parse, take the new time (parity uses it).
          if (known.doc.mtimeMs !== input.mtimeMs) known.doc = { ...known.doc, mtimeMs: input.mtimeMs };
          docs.push(known.doc);
          continue;
        }
        const doc = parseIssue(md, slug, lang, input, kinds);
        documents.set(input.file, { source: input.source, doc });
        docs.push(doc);
      } catch (error) {
        if (!(error instanceof DepescheError)) throw error;
        broken.push({ lang, error });
      }
    }
    const declared = docs.find((doc) => doc.meta.languages)?.meta.languages;
    // A file that does not parse stops the build, unless `languages:` leaves it out: a
    // half-written draft must not hold back the edition that is ready.
    const blocking = broken.find(({ lang }) => !declared || declared.includes(lang));
    if (blocking) throw blocking.error;
    const drafts = broken.map(({ error }) => error);
    const sent = declared ? docs.filter((doc) => declared.includes(doc.lang)) : docs;
    if (sent.length === 0) {
      const first = docs.find((doc) => doc.meta.languages)!;
      throw new DepescheError('E_CONTENT', `\`languages: ${declared!.join(', ')}\` names no edition that has a file.`, {
        location: { file: first.file, line: first.metaLine('languages') },
        hint: `List the languages whose files exist (${docs.map((d) => d.lang).join(', ')}), or write the missing file.`,
      });
    }
    const [first, ...rest] = sent;
    for (const doc of rest) {
      if (doc.meta.template !== first!.meta.template) {
        throw new DepescheError('E_CONTENT', `${doc.lang}.md uses template "${doc.meta.template}" but ${first!.lang}.md uses "${first!.meta.template}".`, {
          location: { file: doc.file, line: doc.metaLine('template') },
          hint: 'Both languages of an issue use the same template.',
        });
      }
    }
    return { docs, sent, drafts };
  }

  async function compileDocument(doc: IssueDocument, template: Template, t: Translator): Promise<CompiledEdition> {
    const { lang, meta } = doc;
    const impressumSource = meta.impressum || t.t(lang, 'footer.impressum');
    const impressumHtml = md.render(impressumSource);
    const greetingOn = template.manifest.greeting;
    const context: TemplateContext = {
      lang,
      slug: doc.slug,
      meta,
      parts: doc.parts,
      bodyHtml: doc.bodyHtml,
      impressumHtml,
      merge: MERGE_MARKERS,
      greeting: greetingOn ? MERGE_MARKERS.greeting : '',
      dateText: formatDate(meta.date, lang),
    };
    const mjml = template.render(context);
    // MJML costs about a second to load, lint (caniemail) more: each only when first needed.
    const { mjmlToHtml } = await import('./mjml.ts');
    const html = await mjmlToHtml(mjml, template.name);
    const greeting: Greeting = { named: t.t(lang, 'common.greeting.named'), anonymous: t.t(lang, 'common.greeting.anonymous') };
    return {
      slug: doc.slug,
      lang,
      template: meta.template,
      subject: meta.subject,
      preheader: meta.preheader,
      html,
      text: textOf(doc, t, impressumHtml, greetingOn),
      greeting,
      title: meta.title,
      date: meta.date,
      mjml,
      htmlBytes: Buffer.byteLength(html, 'utf8'),
      sourceFile: doc.file,
    };
  }

  function textOf(doc: IssueDocument, t: Translator, impressumHtml: string, greeting: boolean): string {
    const entry = documents.get(doc.file);
    if (entry?.doc === doc && entry.text !== undefined) return entry.text;
    const text = renderText(doc, t, fragment(impressumHtml), { greeting });
    if (entry?.doc === doc) entry.text = text;
    return text;
  }

  async function build(slug: string): Promise<LoadedIssue & { editions: CompiledEdition[] }> {
    const issue = await loadIssue(slug);
    const t = await getTranslator();
    const template = await getTemplate(issue.sent[0]!.meta.template);
    const editions: CompiledEdition[] = [];
    for (const doc of issue.sent) editions.push(await compileDocument(doc, template, t));
    return { ...issue, editions };
  }

  async function compileProbe(name: string): Promise<CompiledEdition[]> {
    const template = await getTemplate(name);
    const t = await getTranslator();
    const kinds = await getTemplateKinds();
    const editions: CompiledEdition[] = [];
    for (const source of probeSources(name, template.manifest.body)) {
      const doc = parseIssue(md, `probe-${name}`, source.lang, { file: source.file, source: source.source, mtimeMs: 0 }, kinds);
      editions.push(await compileDocument(doc, template, t));
    }
    return editions;
  }

  async function compileForSend(slug: string): Promise<{ editions: CompiledEdition[]; findings: Finding[] }> {
    let result;
    try {
      result = await build(slug);
    } catch (error) {
      // A wrong slug is not a problem of the issue's files: it stays the error it is.
      if (error instanceof DepescheError && error.code !== 'E_NOT_FOUND' && error.code !== 'E_INPUT') return { editions: [], findings: [findingFromError(error)] };
      throw error;
    }
    const linted = result.editions.map((edition) => {
      const doc = result.sent.find((d) => d.lang === edition.lang)!;
      const source = documents.get(doc.file)?.source ?? '';
      return { edition, doc, html: fillSample(edition, publicUrl).html, lines: source.split(/\r?\n/) };
    });
    const drafts = result.drafts.map((error): Finding => ({ ...findingFromError(error), severity: 'warning', message: `A draft left out of \`languages:\` does not build yet: ${error.message}` }));
    const { lintIssue } = await import('./lint/index.ts');
    const findings = [...(await lintIssue({ slug, docs: result.docs, editions: result.sent.map((d) => d.lang) }, linted)), ...drafts];
    return { editions: result.editions, findings };
  }

  return {
    async listIssues() {
      const slugs = await listIssueSlugs(contentDir);
      const summaries = await Promise.all(
        slugs.map(async (slug): Promise<IssueSummary> => {
          const langs = await issueLangs(contentDir, slug).catch(() => [] as Lang[]);
          const files: Partial<Record<Lang, string>> = {};
          for (const lang of langs) files[lang] = issueFile(contentDir, slug, lang);
          const summary: IssueSummary = { slug, langs, title: slug, date: /^\d{4}-\d{2}-\d{2}/.exec(slug)?.[0] ?? '', template: '', files };
          // The index must list broken issues too, so editors can open them and see the error.
          for (const lang of langs) {
            try {
              const { file, source } = await readIssueSource(contentDir, slug, lang);
              const { meta } = parseFrontMatter(source, file);
              return { ...summary, title: meta.title, date: meta.date, template: meta.template };
            } catch {
              // fall through to the next language, then to what the slug says
            }
          }
          return summary;
        }),
      );
      return summaries.sort((a, b) => b.date.localeCompare(a.date) || b.slug.localeCompare(a.slug));
    },

    async compile(slug) {
      return (await build(slug)).editions;
    },

    async lint(slug) {
      return (await compileForSend(slug)).findings;
    },

    async listTemplates() {
      const names = await listTemplates(contentDir);
      return Promise.all(
        names.map(async (name) => {
          const manifest = await readManifest(contentDir, name);
          return { name, file: resolve(templatesDir(contentDir), name, 'layout.mjml.hbs'), body: manifest.body, greeting: manifest.greeting };
        }),
      );
    },

    compileProbe,

    async lintTemplates() {
      const findings: Finding[] = [];
      let t: Translator;
      try {
        t = await getTranslator();
      } catch (error) {
        if (error instanceof DepescheError) return [findingFromError(error)];
        throw error;
      }
      // Lint rules and caniemail's data load only when something is linted.
      const { lintTemplate, lintShared } = await import('./lint/index.ts');
      for (const name of await listTemplates(contentDir)) {
        try {
          const template = await getTemplate(name);
          const probes = (await compileProbe(name)).map((edition) => ({ edition, html: fillSample(edition, publicUrl).html }));
          findings.push(...(await lintTemplate({ template, probes, translator: t, localesDir })));
        } catch (error) {
          if (error instanceof DepescheError) findings.push(findingFromError(error));
          else throw error;
        }
      }
      findings.push(...(await lintShared({ translator: t, localesDir })));
      return findings;
    },

    compileForSend,

    invalidate(changedPath) {
      const rel = relative(contentDir, resolve(contentDir, changedPath)).split(sep);
      if (rel[0] === 'templates' || rel[0] === 'locales') {
        translator = null;
        templateKinds = null;
        templates.clear();
        documents.clear();
        return 'all';
      }
      // Parsed issue files are keyed by their text, so a changed file is reparsed on its
      // own and the other language stays cached.
      if (rel[0] === 'issues' && rel[1]) return [rel[1]];
      return [];
    },
  };
}
