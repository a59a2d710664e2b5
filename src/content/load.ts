import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MarkdownIt } from 'markdown-it';
import { DepescheError } from '../errors.ts';
import { LANGS, type Lang } from '../core/lang.ts';
import { parseFreeForm, parseParts } from './blocks.ts';
import { parseFrontMatter } from './front-matter.ts';
import type { IssueDocument } from './model.ts';

/** Templates whose body is a sequence of `:::` parts; any other template takes plain Markdown. */
export const BLOCK_TEMPLATES = new Set(['briefing']);

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
    throw new DepescheError('E_NOT_FOUND', `There is no issue "${slug}".`, {
      hint: `Create ${join(issuesDir(contentDir), slug)}/de.md and en.md, or run \`depesche build\` without a slug to build every issue.`,
      cause,
    });
  }
  return LANGS.filter((lang) => names.includes(`${lang}.md`));
}

/** Both language files must exist; the error points at the one that does. */
export async function requireAllLangs(contentDir: string, slug: string): Promise<void> {
  const langs = await issueLangs(contentDir, slug);
  const missing = LANGS.filter((lang) => !langs.includes(lang));
  if (missing.length === 0) return;
  const present = langs[0];
  const want = missing.map((lang) => issueFile(contentDir, slug, lang)).join(' and ');
  throw new DepescheError('E_CONTENT', `Issue "${slug}" has no ${missing.map((l) => `${l}.md`).join(' or ')}; every issue is written in ${LANGS.join(' and ')}.`, {
    location: present ? { file: issueFile(contentDir, slug, present), line: 1 } : { file: join(issuesDir(contentDir), slug) },
    hint: `Create ${want} with the same parts as ${present ? `${present}.md` : 'the other language'}.`,
  });
}

export async function readIssueSource(contentDir: string, slug: string, lang: Lang): Promise<{ file: string; source: string }> {
  const file = issueFile(contentDir, slug, lang);
  try {
    return { file, source: await readFile(file, 'utf8') };
  } catch (cause) {
    throw new DepescheError('E_CONTENT', `Cannot read ${file}.`, { location: { file }, hint: `Create it; every issue is written in ${LANGS.join(' and ')}.`, cause });
  }
}

/**
 * Parses one language file into the section model. `knownTemplate` says whether a
 * template name exists, so an unknown one is reported at its front matter line.
 */
export function parseIssue(md: MarkdownIt, slug: string, lang: Lang, file: string, source: string, knownTemplates: readonly string[]): IssueDocument {
  const front = parseFrontMatter(source, file);
  const { meta } = front;
  if (!knownTemplates.includes(meta.template)) {
    throw new DepescheError('E_CONTENT', `Unknown template "${meta.template}".`, {
      location: { file, line: front.metaLine('template') },
      hint: `Use one of: ${knownTemplates.join(', ')} (folders under templates/).`,
    });
  }
  if (BLOCK_TEMPLATES.has(meta.template)) {
    const parts = parseParts(md, front.body, file, front.bodyOffset);
    const links = parts.flatMap((p) =>
      p.items.flatMap((item) => [
        ...hrefs(item.headline),
        ...hrefs(item.body),
        ...hrefs(item.why),
        ...hrefs(item.about),
        ...(item.link ? [item.link.href] : []),
      ]),
    );
    return { slug, lang, file, meta, metaLine: front.metaLine, parts, bodyHtml: '', links };
  }
  const { html, links } = parseFreeForm(md, front.body, file, front.bodyOffset);
  return { slug, lang, file, meta, metaLine: front.metaLine, parts: [], bodyHtml: html, links };
}

/** hrefs in rendered HTML fragments; the fragments come from markdown-it, so the shape is fixed. */
function hrefs(html: string): string[] {
  return [...html.matchAll(/<a href="([^"]*)"/g)].map((m) => decodeEntities(m[1]!));
}

function decodeEntities(value: string): string {
  return value.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>');
}
