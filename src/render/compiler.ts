import { relative, resolve, sep } from 'node:path';
import { createMarkdown } from '../content/markdown.ts';
import { issueFile, issueLangs, listIssueSlugs, parseIssue, readIssueSource, requireAllLangs } from '../content/load.ts';
import { parseFrontMatter } from '../content/front-matter.ts';
import type { IssueDocument } from '../content/model.ts';
import { DepescheError } from '../errors.ts';
import { loadTranslator, type Translator } from '../i18n/index.ts';
import { LANGS, type Lang } from '../core/lang.ts';
import type { Edition, Greeting } from '../core/edition.ts';
import { formatDate } from './format.ts';
import { MERGE_FIELDS, mergeMarker, type MergeField } from './merge.ts';
import { listTemplates, loadTemplate, type Template, type TemplateContext } from './templates.ts';
import { fragment, renderText } from './text.ts';

export interface CompilerOptions {
  /** Holds issues/, templates/ and locales/. */
  contentDir: string;
  /** Base of the sample links that build output and lint fill in. @defaultValue `http://127.0.0.1:4001` */
  publicUrl?: string;
}

export interface IssueSummary {
  slug: string;
  langs: Lang[];
  title: string;
  date: string;
  template: string;
  files: Partial<Record<Lang, string>>;
}

export interface CompiledEdition extends Edition {
  /** The MJML the template produced, for debugging and the benchmark. */
  mjml: string;
  /** UTF-8 size of `html` with its merge markers. */
  htmlBytes: number;
  sourceFile: string;
}

export interface Finding {
  severity: 'error' | 'warning';
  rule: string;
  message: string;
  file?: string;
  line?: number;
  lang?: Lang;
}

export interface Compiler {
  /** Every issues/<slug>/ folder, newest first. */
  listIssues(): Promise<IssueSummary[]>;
  /** Both languages; throws DepescheError with file and line on bad input. */
  compile(slug: string): Promise<CompiledEdition[]>;
  /** Compile errors become error findings; then every email-correctness rule. */
  lint(slug: string): Promise<Finding[]>;
  /** Drops caches a changed file affects; returns the affected slugs, or 'all'. */
  invalidate(changedPath: string): 'all' | string[];
}

export const DEFAULT_PUBLIC_URL = 'http://127.0.0.1:4001';

/** Merge markers by field, for templates: `{{merge.unsubscribeUrl}}`. */
const MERGE_MARKERS = Object.fromEntries(MERGE_FIELDS.map((f) => [f, mergeMarker(f)])) as Record<MergeField, string>;

/**
 * The compile pipeline with its caches. Templates, partials and locales are compiled
 * once and kept until `invalidate` names a file under templates/ or locales/. Issue
 * files are read on every compile and reparsed only when their text changed, so an
 * edit costs one Markdown parse of that file, template renders and MJML runs.
 */
export function createCompiler(options: CompilerOptions): Compiler {
  const contentDir = resolve(options.contentDir);
  const publicUrl = options.publicUrl ?? DEFAULT_PUBLIC_URL;
  const md = createMarkdown();
  let translator: Promise<Translator> | null = null;
  let templateNames: Promise<string[]> | null = null;
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
  const getTranslator = () => (translator ??= cached(() => loadTranslator(resolve(contentDir, 'locales')), () => (translator = null)));
  const getTemplateNames = () => (templateNames ??= cached(() => listTemplates(contentDir), () => (templateNames = null)));
  const getTemplate = async (name: string) => {
    let template = templates.get(name);
    if (!template) {
      const t = await getTranslator();
      template = cached(() => loadTemplate(contentDir, name, t), () => templates.delete(name));
      templates.set(name, template);
    }
    return template;
  };

  async function loadDocuments(slug: string): Promise<IssueDocument[]> {
    await requireAllLangs(contentDir, slug);
    const names = await getTemplateNames();
    const docs: IssueDocument[] = [];
    for (const lang of LANGS) {
      const { file, source } = await readIssueSource(contentDir, slug, lang);
      const known = documents.get(file);
      if (known?.source === source) {
        docs.push(known.doc);
        continue;
      }
      const doc = parseIssue(md, slug, lang, file, source, names);
      documents.set(file, { source, doc });
      docs.push(doc);
    }
    const [first, ...rest] = docs;
    for (const doc of rest) {
      if (doc.meta.template !== first!.meta.template) {
        throw new DepescheError('E_CONTENT', `${doc.lang}.md uses template "${doc.meta.template}" but ${first!.lang}.md uses "${first!.meta.template}".`, {
          location: { file: doc.file, line: doc.metaLine('template') },
          hint: 'Both languages of an issue use the same template.',
        });
      }
    }
    return docs;
  }

  async function compileDocument(doc: IssueDocument, template: Template, t: Translator): Promise<CompiledEdition> {
    const { lang, meta } = doc;
    const impressumSource = meta.impressum || t.t(lang, 'footer.impressum');
    const impressumHtml = md.render(impressumSource);
    const context: TemplateContext = {
      lang,
      slug: doc.slug,
      meta,
      parts: doc.parts,
      bodyHtml: doc.bodyHtml,
      impressumHtml,
      merge: MERGE_MARKERS,
      greeting: MERGE_MARKERS.greeting,
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
      text: textOf(doc, t, impressumHtml),
      greeting,
      title: meta.title,
      date: meta.date,
      mjml,
      htmlBytes: Buffer.byteLength(html, 'utf8'),
      sourceFile: doc.file,
    };
  }

  function textOf(doc: IssueDocument, t: Translator, impressumHtml: string): string {
    const entry = documents.get(doc.file);
    if (entry?.doc === doc && entry.text !== undefined) return entry.text;
    const text = renderText(doc, t, fragment(impressumHtml));
    if (entry?.doc === doc) entry.text = text;
    return text;
  }

  async function compileWithDocs(slug: string): Promise<{ docs: IssueDocument[]; editions: CompiledEdition[] }> {
    const docs = await loadDocuments(slug);
    const t = await getTranslator();
    const template = await getTemplate(docs[0]!.meta.template);
    const editions: CompiledEdition[] = [];
    for (const doc of docs) editions.push(await compileDocument(doc, template, t));
    return { docs, editions };
  }

  return {
    async listIssues() {
      const slugs = await listIssueSlugs(contentDir);
      const summaries = await Promise.all(
        slugs.map(async (slug): Promise<IssueSummary> => {
          const langs = await issueLangs(contentDir, slug);
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
      return (await compileWithDocs(slug)).editions;
    },

    async lint(slug) {
      let result;
      try {
        result = await compileWithDocs(slug);
      } catch (error) {
        if (error instanceof DepescheError) {
          return [{ severity: 'error', rule: 'compile', message: error.hint ? `${error.message} ${error.hint}` : error.message, ...(error.location ? { file: error.location.file, ...(error.location.line ? { line: error.location.line } : {}) } : {}) }];
        }
        throw error;
      }
      const { lintEditions } = await import('./lint.ts');
      return lintEditions(result.editions, result.docs, { publicUrl, localesDir: resolve(contentDir, 'locales'), translator: await getTranslator() });
    },

    invalidate(changedPath) {
      const rel = relative(contentDir, resolve(contentDir, changedPath)).split(sep);
      if (rel[0] === 'templates' || rel[0] === 'locales') {
        translator = null;
        templateNames = null;
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
