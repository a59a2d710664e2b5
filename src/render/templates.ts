import { readdir, readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import Handlebars from 'handlebars';
import { DepescheError } from '../errors.ts';
import type { Translator } from '../i18n/index.ts';
import type { Lang } from '../core/lang.ts';
import { formatDate, formatFigure } from './format.ts';

/** A template folder compiled once: the main MJML template with its partials and helpers. */
export interface Template {
  name: string;
  file: string;
  render(context: TemplateContext): string;
}

/** What every template sees. Part-specific data hangs off `parts` / `bodyHtml`. */
export interface TemplateContext {
  lang: Lang;
  [key: string]: unknown;
}

const SHARED = '_shared';
export const MAIN_FILE = 'layout.mjml.hbs';

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

  let main: Handlebars.TemplateDelegate;
  try {
    hbs.parse(source);
    main = hbs.compile(source);
  } catch (cause) {
    throw templateError(file, cause);
  }
  return {
    name,
    file,
    render(context) {
      try {
        return main(context);
      } catch (cause) {
        throw templateError(file, cause);
      }
    },
  };
}
