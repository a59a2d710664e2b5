import matter from 'gray-matter';
import { z } from 'zod';
import { DepescheError } from '../errors.ts';
import type { IssueMeta } from './model.ts';

const isoDate = z
  .union([z.date(), z.string().trim()])
  .transform((value) => (value instanceof Date ? value.toISOString().slice(0, 10) : value))
  .refine((value) => /^\d{4}-\d{2}-\d{2}$/.test(value) && !Number.isNaN(Date.parse(value)), 'must be a date written YYYY-MM-DD');

const text = (what: string) => z.string({ error: `must be text (${what})` }).trim().min(1, `must not be empty (${what})`);

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
  /** Running issue number; the briefing masthead shows it. */
  issue: z.number({ error: 'must be a whole number' }).int().positive().optional(),
  tagline: z.string().trim().optional(),
  /** Byline of an article. */
  author: z.string().trim().optional(),
  /** Standfirst under an article's title. */
  dek: z.string().trim().optional(),
  /** Overrides the publisher's Impressum from the locale file for this issue. */
  impressum: z.string().trim().optional(),
});

export interface ParsedFrontMatter {
  meta: IssueMeta;
  body: string;
  /** Lines before the body, so body line n is file line `bodyOffset + n`. */
  bodyOffset: number;
  metaLine(key: string): number;
}

/** Splits and validates front matter; every failure names the file and line. */
export function parseFrontMatter(source: string, file: string): ParsedFrontMatter {
  const lines = source.replace(/^\uFEFF/, '').split(/\r?\n/);
  if (lines[0]?.trim() === '---' && !lines.slice(1).some((line) => line.trim() === '---')) {
    throw new DepescheError('E_CONTENT', 'The front matter is not closed.', {
      location: { file, line: 1 },
      hint: 'End the front matter with a line holding only --- before the text begins.',
    });
  }
  let parsed: matter.GrayMatterFile<string>;
  try {
    // An options object turns off gray-matter's global cache, which would keep every edit alive.
    parsed = matter(source, {});
  } catch (cause) {
    const mark = (cause as { mark?: { line?: number } }).mark;
    const reason = (cause as { reason?: string }).reason ?? (cause as Error).message;
    throw new DepescheError('E_CONTENT', `The front matter is not valid YAML: ${reason}.`, {
      // js-yaml counts from 0 in text that starts on the line of the opening ---.
      location: { file, line: (mark?.line ?? 0) + 1 },
      hint: 'Write one `key: value` per line; put values containing a colon or quote marks in quotes.',
      cause,
    });
  }
  const rawLines = parsed.matter.split(/\r?\n/);
  // gray-matter's `matter` starts right after the opening ---, so its line i is file line i + 1.
  const metaLine = (key: string): number => {
    const index = rawLines.findIndex((line) => new RegExp(`^${key}\\s*:`).test(line));
    return index < 0 ? 1 : index + 1;
  };
  const hasFrontMatter = source.startsWith('---');
  const bodyOffset = source.slice(0, source.length - parsed.content.length).split('\n').length - 1;

  const result = frontMatterSchema.safeParse(parsed.data);
  if (!result.success) {
    // A misspelt key also makes its correct name go missing; name the typo first.
    const issues = result.error.issues;
    const issue = issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]!;
    const key = String(issue.path[0] ?? '');
    if (issue.code === 'unrecognized_keys') {
      const unknown = (issue as { keys: string[] }).keys[0]!;
      throw new DepescheError('E_CONTENT', `Unknown front matter field "${unknown}".`, {
        location: { file, line: metaLine(unknown) },
        hint: `Known fields: ${Object.keys(frontMatterSchema.shape).join(', ')}. Check the spelling.`,
      });
    }
    const missing = (parsed.data as Record<string, unknown>)[key] === undefined;
    if (missing) {
      throw new DepescheError('E_CONTENT', `The front matter field "${key}" is missing.`, {
        location: { file, line: 1 },
        hint: hasFrontMatter
          ? `Add a line \`${key}: …\` between the --- lines at the top of the file.`
          : 'Start the file with front matter between two --- lines (see "Writing an issue" in README.md).',
      });
    }
    throw new DepescheError('E_CONTENT', `The front matter field "${key}" ${issue.message}.`, {
      location: { file, line: metaLine(key) },
      hint: `Correct the value of \`${key}:\` (see "Front matter" in README.md for every field).`,
    });
  }
  const data = result.data;
  return {
    meta: {
      template: data.template,
      title: data.title,
      subject: data.subject,
      preheader: data.preheader,
      date: data.date,
      issue: data.issue ?? null,
      tagline: data.tagline ?? '',
      author: data.author ?? '',
      dek: data.dek ?? '',
      impressum: data.impressum ?? '',
    },
    body: parsed.content,
    bodyOffset,
    metaLine,
  };
}
