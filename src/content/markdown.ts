import markdownIt, { type MarkdownIt, type Token } from 'markdown-it';
import container from 'markdown-it-container';
import footnote from 'markdown-it-footnote';
import { escapeHtml } from '../core/escape.ts';
import type { ContentNote } from './model.ts';
import { measureTables, PHONE_TEXT_WIDTH } from './table-width.ts';

/**
 * The one Markdown dialect of Depesche: CommonMark plus tables, strikethrough and
 * footnotes, with two kinds of fenced blocks from markdown-it-container:
 *   `::: <part> key="value"` … `:::`   a part of the briefing (news item, quote, …)
 *   `+++ <field>` … `+++`              a field inside a part (why, about)
 * Fields use another marker so they can nest inside parts: a container ends at the
 * first bare line of its own marker.
 *
 * What mail clients cannot show is recognised, so lint can name it with its line, and
 * then rendered harmless: raw HTML as visible text, `javascript:` and `data:` links as
 * plain text.
 */

/** The width of the text column in both templates: 640 px minus 2 × 28 px padding. */
export const COLUMN_WIDTH = 584;

/** What one parse found that readers would not see as the editor meant; lint reports it. */
export interface ParseEnv {
  notes: ContentNote[];
}

const SAFE_SCHEME = /^(https?:|mailto:|#|\/|\.|[^:]*$)/i;

function lineOf(token: Token | undefined, parent?: Token): number {
  return (token?.map ?? parent?.map)?.[0] ?? 0;
}

/** First line of a block token plus the line breaks before `index` among its inline children. */
function inlineLine(inline: Token, index: number): number {
  let line = lineOf(inline);
  const children = inline.children ?? [];
  for (let i = 0; i < index; i++) if (children[i]!.type === 'softbreak' || children[i]!.type === 'hardbreak') line++;
  return line;
}

/** Core rule: unsafe link schemes become plain text, and are noted with their line. */
function guardLinks(state: { tokens: Token[]; env: ParseEnv }): void {
  const notes = state.env.notes ?? [];
  for (const block of state.tokens) {
    if (block.type === 'html_block') notes.push(rawHtmlNote(block.content, lineOf(block)));
    if (block.type !== 'inline' || !block.children) continue;
    block.children.forEach((token, index) => {
      if (token.type === 'link_open') {
        const href = String(token.attrGet('href') ?? '');
        if (!SAFE_SCHEME.test(href.trim())) {
          notes.push({ severity: 'error', rule: 'link-scheme', line: inlineLine(block, index), message: `The link target "${href.slice(0, 60)}" is not a web address; mail clients block ${href.split(':')[0]}: links, so readers would see plain text.`, hint: 'Link to an https:// page instead.' });
          // Rendered as a bare <span> (no rule for the new type): the label stays, the target goes.
          token.type = 'unsafe_link_open';
          token.tag = 'span';
          token.attrs = null;
          const close = block.children!.slice(index).find((t) => t.type === 'link_close');
          if (close) {
            close.type = 'unsafe_link_close';
            close.tag = 'span';
          }
        }
      } else if (token.type === 'image') {
        const src = String(token.attrGet('src') ?? '');
        if (!SAFE_SCHEME.test(src.trim()) || /^mailto:/i.test(src)) {
          notes.push({ severity: 'error', rule: 'link-scheme', line: inlineLine(block, index), message: `The image "${src.slice(0, 60)}" is not a web address; mail clients block ${src.split(':')[0]}: images.`, hint: 'Upload the image and use its https:// address.' });
          token.type = 'text';
          token.content = token.content || 'image';
        }
      } else if (token.type === 'html_inline') {
        notes.push(rawHtmlNote(token.content, inlineLine(block, index)));
      }
    });
  }
}

function rawHtmlNote(html: string, line: number): ContentNote {
  const tag = /^<\/?([A-Za-z][\w-]*)/.exec(html.trim())?.[1]?.toLowerCase();
  return {
    severity: 'error',
    rule: 'raw-html',
    line,
    message: `Raw HTML ${tag ? `<${tag}>` : html.trim().slice(0, 30)} is not allowed in an issue; readers would see the tag as text.`,
    hint: tag === 'br' ? 'End the line with two spaces or a backslash for a line break.' : tag === 'iframe' || tag === 'video' || tag === 'script' ? 'Mail clients do not run embeds. Link to the page instead: [Watch the video](https://…)' : 'Write it in Markdown: **bold**, *italic*, lists, tables, > quotes, ![images](https://…).',
  };
}

/**
 * Core rule, before markdown-it-footnote gathers the notes: a reference without a note
 * would reach readers as a literal "[^b]", and a note nobody refers to is dropped.
 */
function checkFootnotes(state: { tokens: Token[]; env: ParseEnv & { footnotes?: { refs?: Record<string, number> } } }): void {
  const notes = state.env.notes ?? [];
  const refs = state.env.footnotes?.refs ?? {};
  state.tokens.forEach((block, i) => {
    if (block.type === 'footnote_reference_open') {
      const label = String(block.meta?.label ?? '');
      if ((refs[`:${label}`] ?? -1) >= 0) return;
      const line = lineOf(state.tokens.slice(i).find((t) => t.map));
      notes.push({ severity: 'warning', rule: 'footnote', line, message: `The note [^${label}] is never referred to, so readers do not see it.`, hint: `Put [^${label}] in the text where the note belongs, or delete the note.` });
    }
    if (block.type !== 'inline' || !block.children) return;
    block.children.forEach((token, index) => {
      if (token.type !== 'text') return;
      for (const match of token.content.matchAll(/\[\^([^\]\s]+)\]/g)) {
        const label = match[1]!;
        const known = Object.keys(refs).map((k) => `[^${k.slice(1)}]`);
        notes.push({
          severity: 'error',
          rule: 'footnote',
          line: inlineLine(block, index),
          message: `The footnote reference [^${label}] has no note, so readers would see "[^${label}]" as text.`,
          hint: `Write the note on a line of its own, "[^${label}]: …", or use one of the notes there are${known.length ? ` (${known.join(', ')})` : ''}.`,
        });
      }
    });
  });
}

/** Paragraph tokens that hold nothing but one image: rendered as a figure with its caption. */
function markFigures(state: { tokens: Token[] }): void {
  const tokens = state.tokens;
  for (let i = 0; i + 2 < tokens.length; i++) {
    if (tokens[i]!.type !== 'paragraph_open' || tokens[i + 2]!.type !== 'paragraph_close') continue;
    const children = (tokens[i + 1]!.children ?? []).filter((c) => !(c.type === 'softbreak' || (c.type === 'text' && c.content.trim() === '')));
    if (children.length === 1 && children[0]!.type === 'image') {
      tokens[i]!.meta = { ...tokens[i]!.meta, figure: true };
      tokens[i + 2]!.meta = { ...tokens[i + 2]!.meta, figure: true };
    }
  }
}

export function createMarkdown(): MarkdownIt {
  // html: true only so raw HTML is recognised and noted; it is rendered as text below.
  const md = markdownIt({ html: true, linkify: false, typographer: false, xhtmlOut: true });
  // Every scheme reaches the token stream, so guardLinks can name the unsafe ones.
  md.validateLink = () => true;
  const named = (params: string) => /^\s*[A-Za-z][\w-]*/.test(params);
  md.use(container, 'block', { marker: ':', validate: named });
  md.use(container, 'field', { marker: '+', validate: named });
  md.use(footnote);
  md.core.ruler.before('footnote_tail', 'depesche_footnotes', (state) => checkFootnotes(state as unknown as Parameters<typeof checkFootnotes>[0]));
  md.core.ruler.push('depesche_links', (state) => guardLinks(state as unknown as { tokens: Token[]; env: ParseEnv }));
  md.core.ruler.push('depesche_figures', (state) => markFigures(state));
  md.core.ruler.push('depesche_tables', (state) => measureTables(state));

  const rules = md.renderer.rules;
  rules.html_block = (tokens, idx) => `<p>${escapeHtml(tokens[idx]!.content.trim())}</p>\n`;
  rules.html_inline = (tokens, idx) => escapeHtml(tokens[idx]!.content);

  // Wide tables scroll inside their own box; the page never does. The box takes no width
  // from its content (width 0) and then fills the column (min-width 100%), so a table
  // wider than a phone cannot push the layout open. A table that must scroll anyway gets
  // the width it needs (inline, for webmail without <style>), so the browser does not
  // squeeze it by wrapping every cell at its spaces.
  rules.table_open = (tokens, idx) => {
    const width = Number(tokens[idx]!.meta?.minWidth ?? 0);
    return `<div class="table-scroll"><table class="data"${width > PHONE_TEXT_WIDTH ? ` style="min-width: ${width}px"` : ''}>\n`;
  };
  rules.table_close = () => '</table></div>\n';

  // MJML re-indents every line of a text block; inside <pre> that would add spaces to
  // the code. Newlines as character references keep the block on one source line.
  const code = (content: string) => `<div class="code-scroll"><pre class="code"><code>${escapeHtml(content.replace(/\n$/, '')).replaceAll('\n', '&#10;')}</code></pre></div>\n`;
  rules.fence = (tokens, idx) => code(tokens[idx]!.content);
  rules.code_block = (tokens, idx) => code(tokens[idx]!.content);

  // A paragraph of one image is a figure: the image at the column width (Outlook for
  // Windows honours only the width attribute) with its title as the caption below.
  const paragraphOpen = rules.paragraph_open;
  const paragraphClose = rules.paragraph_close;
  rules.paragraph_open = (tokens, idx, options, env, self) => (tokens[idx]!.meta?.figure ? '<div class="figure">' : paragraphOpen ? paragraphOpen(tokens, idx, options, env, self) : self.renderToken(tokens, idx, options));
  rules.paragraph_close = (tokens, idx, options, env, self) => (tokens[idx]!.meta?.figure ? '</div>\n' : paragraphClose ? paragraphClose(tokens, idx, options, env, self) : self.renderToken(tokens, idx, options));
  rules.image = (tokens, idx, options, env, self) => {
    const token = tokens[idx]!;
    const alt = self.renderInlineAsText(token.children ?? [], options, env);
    const src = String(token.attrGet('src') ?? '');
    const caption = String(token.attrGet('title') ?? '').trim();
    const figure = tokens.length === 1 || tokens.filter((t) => !(t.type === 'softbreak' || (t.type === 'text' && t.content.trim() === ''))).length === 1;
    if (!figure) return `<img src="${escapeHtml(src)}" alt="${escapeHtml(alt)}"${caption ? ` title="${escapeHtml(caption)}"` : ''} />`;
    return `<img class="figure-img" src="${escapeHtml(src)}" alt="${escapeHtml(alt)}" width="${COLUMN_WIDTH}" />${caption ? `<p class="caption">${escapeHtml(caption)}</p>` : ''}`;
  };

  // Footnotes become endnotes: a numbered list after the text. Anchors inside a mail are
  // unreliable (many webmailers drop ids), so the markers are plain superscripts.
  // The word joiner (U+2060) keeps the marker on the line of the word before it: "[" may start a new line.
  rules.footnote_ref = (tokens, idx) => `&#8288;<sup class="fn">[${Number(tokens[idx]!.meta?.id ?? 0) + 1}]</sup>`;
  rules.footnote_block_open = () => '<div class="endnotes"><hr class="endnotes-rule" /><ol class="endnotes-list">\n';
  rules.footnote_block_close = () => '</ol></div>\n';
  rules.footnote_open = () => '<li>';
  rules.footnote_close = () => '</li>\n';
  rules.footnote_anchor = () => '';
  return md;
}

/** Parses a body and collects its notes. */
export function parseMarkdown(md: MarkdownIt, body: string): { tokens: Token[]; env: ParseEnv } {
  const env: ParseEnv = { notes: [] };
  const tokens = md.parse(body, env as unknown as Record<PropertyKey, unknown>);
  return { tokens, env };
}

/** Name and raw attribute text from a container's info string. */
export function splitInfo(info: string): { name: string; rest: string } {
  const match = /^\s*([A-Za-z][\w-]*)(.*)$/s.exec(info);
  return { name: match?.[1]?.toLowerCase() ?? '', rest: match?.[2]?.trim() ?? '' };
}
