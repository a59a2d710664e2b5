import markdownIt, { type MarkdownIt } from 'markdown-it';
import container from 'markdown-it-container';

/**
 * The one Markdown dialect of Depesche: CommonMark plus tables, with two kinds of
 * fenced blocks from markdown-it-container:
 *   `::: <part> key="value"` … `:::`   a part of the briefing (news item, quote, …)
 *   `+++ <field>` … `+++`              a field inside a part (why, about)
 * Fields use another marker so they can nest inside parts: a container ends at the
 * first bare line of its own marker.
 */
export function createMarkdown(): MarkdownIt {
  // Raw HTML stays off: editors write Markdown, and stray tags would break the MJML.
  const md = markdownIt({ html: false, linkify: false, typographer: false, xhtmlOut: true });
  const named = (params: string) => /^\s*[A-Za-z][\w-]*/.test(params);
  md.use(container, 'block', { marker: ':', validate: named });
  md.use(container, 'field', { marker: '+', validate: named });

  // Wide tables must not force a phone to scroll the whole mail sideways.
  md.renderer.rules.table_open = () => '<div class="table-scroll"><table class="data">\n';
  md.renderer.rules.table_close = () => '</table></div>\n';
  return md;
}

/** Name and raw attribute text from a container's info string. */
export function splitInfo(info: string): { name: string; rest: string } {
  const match = /^\s*([A-Za-z][\w-]*)(.*)$/s.exec(info);
  return { name: match?.[1]?.toLowerCase() ?? '', rest: match?.[2]?.trim() ?? '' };
}
