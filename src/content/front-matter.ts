import matter from 'gray-matter';
import { z } from 'zod';
import { DepescheError } from '../errors.ts';
import { LANGS, type Lang } from '../core/lang.ts';
import type { IssueMeta } from './model.ts';

const isoDate = z
  .union([z.date(), z.string().trim()])
  .transform((value) => (value instanceof Date ? value.toISOString().slice(0, 10) : value))
  .refine((value) => /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value)), 'must be a date written YYYY-MM-DD');

const text = (what: string) => z.string({ error: `must be text (${what})` }).trim().min(1, `must not be empty (${what})`);

/** `languages: [de, en]`, `languages: de` or `languages: de, en`. */
const languages = z
  .union([z.string(), z.array(z.string())], { error: `must list languages, e.g. [${LANGS.join(', ')}]` })
  .transform((value) => (Array.isArray(value) ? value : value.split(',')).map((lang) => lang.trim().toLowerCase()).filter(Boolean))
  .refine((list) => list.length > 0, 'must name at least one language')
  .refine((list) => list.every((lang) => (LANGS as readonly string[]).includes(lang)), `may only name ${LANGS.join(' and ')}`)
  .refine((list) => new Set(list).size === list.length, 'names a language twice')
  .transform((list) => LANGS.filter((lang) => list.includes(lang)));

/**
 * Front matter of `issues/<slug>/<lang>.md`. Unknown keys are rejected so a typo
 * (`preheder:`) is reported at its line instead of silently ignored.
 */
export const frontMatterSchema = z.strictObject({
  /** `briefing` or `article`: a folder under templates/. */
  template: text('the template name, e.g. briefing'),
  /** Masthead title, and the page title. */
  title: text('the title shown at the top'),
  /** Subject line of the mail. */
  subject: text('the subject line'),
  /** The hidden preview line mail apps show after the subject. */
  preheader: text('the preview line'),
  date: isoDate,
  /** The editions this issue has; a listed one that has no file is an error. Absent: whichever files exist. */
  languages: languages.optional(),
  /** Running issue number; the masthead shows it. */
  issue: z.number({ error: 'must be a whole number' }).int().positive().optional(),
  /** Under the masthead title (briefing) or the publication name (article). */
  tagline: z.string().trim().optional(),
  /** Byline of an article. */
  author: z.string().trim().optional(),
  /** Standfirst under an article's title. */
  dek: z.string().trim().optional(),
  /** Overrides the publisher's Impressum from the locale file for this issue. */
  impressum: z.string().trim().optional(),
});

export const FRONT_MATTER_FIELDS = Object.keys(frontMatterSchema.shape);

export interface ParsedFrontMatter {
  meta: IssueMeta;
  body: string;
  /** Lines before the body, so body line n is file line `bodyOffset + n`. */
  bodyOffset: number;
  metaLine(key: string): number;
}

// gray-matter picks a parser from the text after the opening `---` (`---js` evaluates
// JavaScript). Issue files are data: every engine but YAML refuses, whatever its name.
const refuse = () => {
  throw new Error('only YAML front matter is allowed');
};
const YAML_ONLY = { engines: { javascript: refuse, js: refuse, coffee: refuse, coffeescript: refuse, cson: refuse, json: refuse, toml: refuse } };

/** The first line of the file, as the opening delimiter: `---`, `---js`, `--- yaml`, … */
function openingLanguage(firstLine: string): string | null {
  if (!firstLine.startsWith('---') || firstLine.startsWith('----')) return null;
  return firstLine.slice(3).trim();
}

/** A key line `key: "value` whose quote does not close on that line; `lines` start at file line 2. */
function unclosedQuote(lines: string[]): { line: number; key: string; quote: string } | null {
  for (let i = 0; i < lines.length; i++) {
    const match = /^([A-Za-z_][\w-]*)\s*:\s*(["'])(.*)$/.exec(lines[i]!);
    if (!match) continue;
    const [, key, quote, rest] = match as unknown as [string, string, string, string];
    const closed = quote === '"' ? /(^|[^\\])(\\\\)*"/.test(rest) : /'(?!')/.test(rest.replace(/''/g, ''));
    if (!closed) return { line: i + 2, key, quote };
  }
  return null;
}

function quoteError(file: string, found: { line: number; key: string; quote: string }): DepescheError {
  return new DepescheError('E_CONTENT', `The ${found.quote === '"' ? 'double' : 'single'} quote that opens the value of "${found.key}" is not closed on its line.`, {
    location: { file, line: found.line },
    hint: `End the value with ${found.quote} on the same line. Inside the value, use typographic quotes („…“ or “…”) instead of ${found.quote}.`,
  });
}

/** Splits and validates front matter; every failure names the file and line. */
export function parseFrontMatter(source: string, file: string): ParsedFrontMatter {
  const text = source.replace(/^\uFEFF/, '');
  if (text.trim() === '') {
    const name = file.split(/[\\/]/).pop() ?? file;
    // The edition that may go alone meanwhile: de for an empty en.md, and the other way round.
    const other = name === 'en.md' ? 'de' : name === 'de.md' ? 'en' : null;
    throw new DepescheError('E_CONTENT', `${name} is empty.`, {
      location: { file, line: 1 },
      hint: `Write the front matter between two --- lines and the text below it (see "Writing an issue" in README.md), or delete the file if this language has no edition.${other ? ` To send the ${other === 'de' ? 'German' : 'English'} edition alone while this one is unwritten, put \`languages: ${other}\` in the front matter of ${other}.md: ${name} is then a draft and is not sent.` : ''}`,
    });
  }
  const lines = text.split(/\r?\n/);
  const language = openingLanguage(lines[0] ?? '');
  if (language) {
    throw new DepescheError('E_CONTENT', `The front matter is marked "---${language}"; issue files take YAML front matter only.`, {
      location: { file, line: 1 },
      hint: 'Start the file with a line holding only --- and write the fields as YAML (`key: value`). Code in issue files is never run.',
    });
  }
  // Closed by the first line that starts with ---, as gray-matter reads it.
  const closeIndex = lines.slice(1).findIndex((line) => line.startsWith('---'));
  if (language !== null && closeIndex < 0) {
    throw new DepescheError('E_CONTENT', 'The front matter is not closed.', {
      location: { file, line: 1 },
      hint: 'End the front matter with a line holding only --- before the text begins.',
    });
  }
  const metaLines = language !== null ? lines.slice(1, closeIndex + 1) : [];
  let parsed: matter.GrayMatterFile<string>;
  try {
    // An options object also turns off gray-matter's global cache, which would keep every edit alive.
    parsed = matter(text, YAML_ONLY);
  } catch (cause) {
    const found = unclosedQuote(metaLines);
    if (found) throw quoteError(file, found);
    const mark = (cause as { mark?: { line?: number } }).mark;
    const reason = (cause as { reason?: string }).reason ?? (cause as Error).message;
    // js-yaml counts from 0 in text that starts on the line of the opening ---.
    const line = (mark?.line ?? 0) + 1;
    const [, key = '', value = ''] = /^([\w-]+)\s*:\s*(.*)$/.exec(lines[line - 1] ?? '') ?? [];
    const colon = /:\s/.test(value) && !/^["']/.test(value);
    // „…“ and “…” look like quotes to people, but YAML reads them as text, so a ": " inside ends the value.
    const curly = /^[„“”»«‚‘]/.exec(value)?.[0];
    if (curly && colon) {
      throw new DepescheError('E_CONTENT', `The value of ${key}: starts with ${curly}, which YAML does not read as a quote, so the ": " inside it breaks the line.`, {
        location: { file, line },
        hint: `„…“, “…” and »…« are not YAML quotes. Put the value in straight double quotes, ${key}: "${value.replace(/"/g, '\\"')}" (the typographic marks inside are then shown as written), or write it without quote marks and without ": ".`,
        cause,
      });
    }
    throw new DepescheError('E_CONTENT', `The front matter is not valid YAML: ${reason}.`, {
      location: { file, line },
      hint: colon
        ? 'The value on this line contains ": ". Put the whole value in straight double quotes: key: "…: …".'
        : 'Write one `key: value` per line; put values containing a colon, a # or quote marks in straight double quotes.',
      cause,
    });
  }
  // metaLines[i] is file line i + 2 (line 1 is the opening ---). No RegExp from the key:
  // a key is the editor's text, and one built into a pattern could stall the process.
  const metaLine = (key: string): number => {
    const keyAt = (line: string, written: string) => line.startsWith(written) && /^\s*:/.test(line.slice(written.length));
    const index = metaLines.findIndex((line) => keyAt(line, key) || keyAt(line, `"${key}"`) || keyAt(line, `'${key}'`));
    return index < 0 ? 1 : index + 2;
  };
  const hasFrontMatter = language !== null;
  const bodyOffset = hasFrontMatter ? closeIndex + 2 : 0;
  const data = (parsed.data ?? {}) as Record<string, unknown>;

  const result = frontMatterSchema.safeParse(data);
  if (!result.success) {
    // A misspelt key also makes its correct name go missing; name the typo first.
    const issues = result.error.issues;
    const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
    const key = String(issue.path[0] ?? '');
    if (issue.code === 'unrecognized_keys') {
      const unknown = (issue as { keys: string[] }).keys[0]!;
      if (metaLine(unknown) === 1) {
        // The key starts no line: an earlier value swallowed it, usually through an open quote.
        const found = unclosedQuote(metaLines);
        if (found) throw quoteError(file, found);
      }
      throw new DepescheError('E_CONTENT', `Unknown front matter field "${unknown}".`, {
        location: { file, line: metaLine(unknown) },
        hint: `Known fields: ${FRONT_MATTER_FIELDS.join(', ')}. Check the spelling.`,
      });
    }
    if (data[key] === undefined) {
      throw new DepescheError('E_CONTENT', `The front matter field "${key}" is missing.`, {
        location: { file, line: 1 },
        hint: hasFrontMatter
          ? `Add a line \`${key}: …\` between the --- lines at the top of the file.`
          : 'Start the file with front matter between two --- lines (see "Writing an issue" in README.md).',
      });
    }
    const found = unclosedQuote(metaLines);
    if (found) throw quoteError(file, found);
    throw new DepescheError('E_CONTENT', `The front matter field "${key}" ${issue.message}.`, {
      location: { file, line: metaLine(key) },
      hint: `Correct the value of \`${key}:\` (see "Front matter" in README.md for every field).`,
    });
  }
  const meta = result.data;
  return {
    meta: {
      template: meta.template,
      title: meta.title,
      subject: meta.subject,
      preheader: meta.preheader,
      date: meta.date,
      languages: (meta.languages as Lang[] | undefined) ?? null,
      issue: meta.issue ?? null,
      tagline: meta.tagline ?? '',
      author: meta.author ?? '',
      dek: meta.dek ?? '',
      impressum: meta.impressum ?? '',
    },
    body: parsed.content,
    bodyOffset,
    metaLine,
  };
}
