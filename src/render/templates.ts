import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import Handlebars from 'handlebars';
import { z } from 'zod';
import { DepescheError } from '../errors.ts';
import type { Translator } from '../i18n/index.ts';
import type { Lang } from '../core/lang.ts';
import { formatDate, formatFigure } from './format.ts';

/** A template folder compiled once: the main MJML template with its partials and helpers. */
export interface Template {
  name: string;
  file: string;
  manifest: TemplateManifest;
  /** Every file the template is made of (layout, partials, shared partials), for findings that point into them. */
  sources: readonly { file: string; source: string }[];
  render(context: TemplateContext): string;
}

/** What every template sees. Part-specific data hangs off `parts` / `bodyHtml`. */
export interface TemplateContext {
  lang: Lang;
  [key: string]: unknown;
}

const SHARED = '_shared';
export const MAIN_FILE = 'layout.mjml.hbs';

export const MANIFEST_FILE = 'template.json';

/** `templates/<name>/template.json`: what a template needs from an issue. Optional, as is every field. */
export const manifestSchema = z.strictObject({
  /** `blocks`: the body is `:::` parts (briefing); `markdown`: one long-form text (article). @defaultValue `markdown` */
  body: z.enum(['blocks', 'markdown']).default('markdown'),
  /** Open the mail with "Guten Tag," / "Hallo {name}," (HTML and text). @defaultValue true */
  greeting: z.boolean().default(true),
  /**
   * caniemail findings the template accepts on purpose, by feature as `depesche lint
   * --templates` names it, with the reason; they are not reported again.
   */
  acceptedClientGaps: z.record(z.string(), z.string().min(10, 'say in a sentence why the gap is fine')).default({}),
});
export type TemplateManifest = z.infer<typeof manifestSchema>;

export async function readManifest(contentDir: string, name: string): Promise<TemplateManifest> {
  const file = join(templatesDir(contentDir), name, MANIFEST_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return manifestSchema.parse({});
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new DepescheError('E_TEMPLATE', `${MANIFEST_FILE} of template "${name}" is not valid JSON: ${(cause as Error).message}`, { location: { file }, hint: 'Fix the JSON syntax.', cause });
  }
  const result = manifestSchema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    throw new DepescheError('E_TEMPLATE', `${MANIFEST_FILE} of template "${name}": "${issue.path.join('.') || '(file)'}" ${issue.message}.`, {
      location: { file },
      hint: 'Fields: body ("blocks" or "markdown"), greeting (true or false), acceptedClientGaps ({ "feature": "why" }).',
    });
  }
  return result.data;
}

export function templatesDir(contentDir: string): string {
  return join(contentDir, 'templates');
}

/** Template names: folders under templates/ holding a layout; `_shared` holds partials for all. */
export async function listTemplates(contentDir: string): Promise<string[]> {
  const dir = templatesDir(contentDir);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const names: string[] = [];
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name.startsWith('_') || entry.name.startsWith('.')) continue;
    const files = await readdir(join(dir, entry.name));
    if (files.includes(MAIN_FILE)) names.push(entry.name);
  }
  return names.sort();
}

async function readPartials(dir: string): Promise<{ name: string; file: string; source: string }[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return Promise.all(
    names.filter((n) => n.endsWith('.hbs')).map(async (n) => ({ name: basename(n, '.hbs'), file: join(dir, n), source: await readFile(join(dir, n), 'utf8') })),
  );
}

function templateError(file: string, cause: unknown): DepescheError {
  const message = cause instanceof Error ? cause.message : String(cause);
  const line = /line (\d+)/i.exec(message)?.[1];
  return new DepescheError('E_TEMPLATE', `The template failed: ${message.split('\n')[0]}`, {
    location: { file, ...(line ? { line: Number(line) } : {}) },
    hint: 'Fix the Handlebars syntax or the name of the partial, helper or locale key it mentions.',
    cause,
  });
}

/**
 * Loads and precompiles templates/<name>/: `layout.mjml.hbs`, every `partials/*.hbs`
 * (one per part) and templates/_shared/*.hbs. Helpers: `t` (labels from the locale
 * files, failing on unknown keys), `date` and `figure` (Intl, per language).
 */
export async function loadTemplate(contentDir: string, name: string, translator: Translator): Promise<Template> {
  const root = templatesDir(contentDir);
  const file = join(root, name, MAIN_FILE);
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (cause) {
    throw new DepescheError('E_TEMPLATE', `Template "${name}" has no ${MAIN_FILE}.`, { location: { file }, hint: `Create ${file}.`, cause });
  }
  const hbs = Handlebars.create();
  const partials = [...(await readPartials(join(root, SHARED))), ...(await readPartials(join(root, name, 'partials')))];
  for (const partial of partials) {
    try {
      // parse() finds syntax errors now; compile() alone would wait for the first render.
      hbs.parse(partial.source);
      hbs.registerPartial(partial.name, hbs.compile(partial.source));
    } catch (cause) {
      throw templateError(partial.file, cause);
    }
  }
  const langOf = (options: Handlebars.HelperOptions): Lang => (options.data as { root: TemplateContext }).root.lang;
  hbs.registerHelper('t', function (key: unknown, options: Handlebars.HelperOptions) {
    const lang = langOf(options);
    if (typeof key !== 'string' || !translator.has(lang, key)) {
      throw new Error(`unknown locale key "${String(key)}" for ${lang}; add it to locales/${lang}.json`);
    }
    return translator.t(lang, key, options.hash as Record<string, unknown>);
  });
  hbs.registerHelper('date', (iso: unknown, options: Handlebars.HelperOptions) => formatDate(String(iso), langOf(options)));
  hbs.registerHelper('figure', (value: unknown, options: Handlebars.HelperOptions) => formatFigure(String(value), langOf(options)));
  hbs.registerHelper('eq', (a: unknown, b: unknown) => a === b);
  // Fixed markup repeated (the preheader filler); the count is capped so a typo cannot blow up a mail.
  hbs.registerHelper('repeat', (text: unknown, count: unknown) => String(text).repeat(Math.max(0, Math.min(200, Number(count) || 0))));

  let main: Handlebars.TemplateDelegate;
  try {
    hbs.parse(source);
    main = hbs.compile(source);
  } catch (cause) {
    throw templateError(file, cause);
  }
  const manifest = await readManifest(contentDir, name);
  return {
    name,
    file,
    manifest,
    sources: [{ file, source }, ...partials.map(({ file: f, source: src }) => ({ file: f, source: src }))],
    render(context) {
      try {
        return main(context);
      } catch (cause) {
        throw templateError(file, cause);
      }
    },
  };
}
