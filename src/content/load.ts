import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { MarkdownIt } from 'markdown-it';
import { DepescheError } from '../errors.ts';
import { LANGS, type Lang } from '../core/lang.ts';
import { parseFreeForm, parseParts } from './blocks.ts';
import { parseFrontMatter } from './front-matter.ts';
import { parseMarkdown } from './markdown.ts';
import type { IssueDocument } from './model.ts';
import { buildOutline } from './outline.ts';
import { decodeIssueFile } from './source.ts';

/** How a template reads an issue's body: `:::` blocks (briefing) or plain Markdown (article). */
export type BodyKind = 'blocks' | 'markdown';

export function issuesDir(contentDir: string): string {
  return join(contentDir, 'issues');
}

export function issueFile(contentDir: string, slug: string, lang: Lang): string {
  return join(issuesDir(contentDir), slug, `${lang}.md`);
}

/** Slugs of every folder under issues/, unsorted. */
export async function listIssueSlugs(contentDir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(issuesDir(contentDir), { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
}

/** The issues there are, newest first (slugs start with the date), for an error about a misspelt one. */
async function issueList(contentDir: string, shown = 12): Promise<string> {
  const slugs = (await listIssueSlugs(contentDir)).sort().reverse();
  if (slugs.length === 0) return `there are no issues under ${issuesDir(contentDir)} yet`;
  return `issues are: ${slugs.slice(0, shown).join(', ')}${slugs.length > shown ? ` and ${slugs.length - shown} older` : ''}`;
}

/** Slugs are folder names under issues/, never paths that could leave it. */
export function checkSlug(slug: string): void {
  if (!/^[A-Za-z0-9][\w.-]*$/.test(slug)) {
    throw new DepescheError('E_INPUT', `"${slug}" is not an issue slug.`, {
      hint: 'Use the folder name under issues/, e.g. 2026-02-22-china-ai2x (letters, digits, dot, dash, underscore).',
    });
  }
}

/** Which language files an issue folder holds. */
export async function issueLangs(contentDir: string, slug: string): Promise<Lang[]> {
  checkSlug(slug);
  let names: string[];
  try {
    names = await readdir(join(issuesDir(contentDir), slug));
  } catch (cause) {
    throw new DepescheError('E_NOT_FOUND', `There is no issue named "${slug}"; ${await issueList(contentDir)}.`, {
      hint: `Check the name (the folder under issues/), or create ${join(issuesDir(contentDir), slug)}/de.md (and en.md for an English edition).`,
      cause,
    });
  }
  const langs = LANGS.filter((lang) => names.includes(`${lang}.md`));
  if (langs.length === 0) {
    const stray = names.filter((n) => n.endsWith('.md'));
    throw new DepescheError('E_CONTENT', `Issue "${slug}" has no edition: there is no ${LANGS.map((l) => `${l}.md`).join(' and no ')}.`, {
      location: { file: join(issuesDir(contentDir), slug) },
      hint: stray.length ? `Name the files after their language: ${stray.join(', ')} → ${LANGS.map((l) => `${l}.md`).join(' or ')}.` : `Write ${LANGS.map((l) => `${l}.md`).join(' or ')} in that folder.`,
    });
  }
  return langs;
}

export interface IssueSource {
  file: string;
  source: string;
  mtimeMs: number;
}

/** Reads one language file: UTF-8 only, within the size limit, with its modification time. */
export async function readIssueSource(contentDir: string, slug: string, lang: Lang): Promise<IssueSource> {
  const file = issueFile(contentDir, slug, lang);
  let bytes: Buffer;
  let mtimeMs: number;
  try {
    [bytes, mtimeMs] = await Promise.all([readFile(file), stat(file).then((s) => s.mtimeMs)]);
  } catch (cause) {
    throw new DepescheError('E_CONTENT', `Cannot read ${file}.`, { location: { file }, hint: 'Check that the file exists and is readable.', cause });
  }
  return { file, source: decodeIssueFile(bytes, file), mtimeMs };
}

/**
 * Merge markers are the sender's: a marker in an issue file would be filled per reader
 * (or, misspelt, stop the send). Editors never need one, so any is an error at its line.
 */
function refuseMergeMarkers(source: string, file: string): void {
  const at = source.indexOf('%%depesche.');
  if (at < 0) return;
  const line = source.slice(0, at).split('\n').length;
  const marker = /^%%depesche\.[^%\s]*%?%?/.exec(source.slice(at))![0];
  throw new DepescheError('E_CONTENT', `"${marker}" is a marker Depesche fills per reader; it cannot appear in an issue.`, {
    location: { file, line },
    hint: 'Remove it. The greeting, the reader\'s name and the footer links are added by the template.',
  });
}

/**
 * Parses one language file into the section model. `templates` maps each template name
 * to how it reads a body, so an unknown one is reported at its front matter line.
 */
export function parseIssue(md: MarkdownIt, slug: string, lang: Lang, input: IssueSource, templates: ReadonlyMap<string, BodyKind>): IssueDocument {
  const { file, source } = input;
  refuseMergeMarkers(source, file);
  const front = parseFrontMatter(source, file);
  const { meta } = front;
  const kind = templates.get(meta.template);
  if (!kind) {
    throw new DepescheError('E_CONTENT', `Unknown template "${meta.template}".`, {
      location: { file, line: front.metaLine('template') },
      hint: `Use one of: ${[...templates.keys()].join(', ')} (folders under templates/).`,
    });
  }
  const { tokens, env } = parseMarkdown(md, front.body);
  const notes = env.notes.map((note) => ({ ...note, line: front.bodyOffset + note.line + 1 }));
  const outline = buildOutline(tokens, front.bodyOffset);
  const base = { slug, lang, file, mtimeMs: input.mtimeMs, meta, metaLine: front.metaLine, outline, notes };
  if (kind === 'blocks') {
    const parts = parseParts(md, tokens, front.body, file, front.bodyOffset);
    return { ...base, parts, bodyHtml: '' };
  }
  const { html } = parseFreeForm(md, tokens, front.body, file, front.bodyOffset);
  return { ...base, parts: [], bodyHtml: html };
}
