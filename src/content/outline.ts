import type { Token } from 'markdown-it';
import { inlineText } from './inline-text.ts';
import { splitInfo } from './markdown.ts';
import type { Outline, OutlineSection, TableShape } from './model.ts';

/** Enough running text to tell German from English with confidence, and no more. */
const TEXT_SAMPLE_CHARS = 6000;

function section(kind: OutlineSection['kind'], level: number, title: string, line: number): OutlineSection {
  return { kind, level, title, line, paragraphs: 0, lists: [], tables: [], images: [], quotes: [], code: [] };
}

/**
 * Summarises a parsed body: sections split at headings and briefing blocks, each with
 * its paragraphs, lists, tables, images, quotes and code; the links with their lines;
 * and a sample of the running text. `offset` turns body lines into file lines.
 */
export function buildOutline(tokens: Token[], offset: number): Outline {
  const fileLine = (token: Token | undefined) => offset + (token?.map?.[0] ?? 0) + 1;
  const sections: OutlineSection[] = [section('start', 0, '', offset + 1)];
  const links: Outline['links'] = [];
  let footnotes = 0;
  let words = 0;
  const text: string[] = [];
  let textLength = 0;
  let current = sections[0]!;
  // Depth counters: only top-level paragraphs, lists and quotes count as such.
  let inList = 0;
  let inQuote = 0;
  let inNotes = 0;
  let table: TableShape | null = null;
  let row: string[] | null = null;
  let heading = false;
  const lists: { level: number; entry: OutlineSection['lists'][number] }[] = [];

  const addText = (value: string, sample: boolean) => {
    const trimmed = value.trim();
    if (!trimmed) return;
    words += trimmed.split(/\s+/).length;
    if (sample && textLength < TEXT_SAMPLE_CHARS) {
      text.push(trimmed);
      textLength += trimmed.length + 1;
    }
  };

  for (const token of tokens) {
    switch (token.type) {
      case 'container_block_open':
        current = section('block', 0, splitInfo(token.info).name, fileLine(token));
        sections.push(current);
        break;
      case 'heading_open':
        heading = true;
        current = section('heading', Number(token.tag.slice(1)), '', fileLine(token));
        sections.push(current);
        break;
      case 'heading_close':
        heading = false;
        break;
      case 'paragraph_open':
        if (!token.hidden && !inList && !inQuote && !inNotes && !token.meta?.figure && !table) current.paragraphs++;
        break;
      case 'bullet_list_open':
      case 'ordered_list_open':
        if (!inList && !inQuote && !inNotes) {
          const entry = { ordered: token.type === 'ordered_list_open', items: 0, line: fileLine(token) };
          current.lists.push(entry);
          lists.push({ level: token.level, entry });
        }
        inList++;
        break;
      case 'bullet_list_close':
      case 'ordered_list_close':
        inList--;
        if (lists.at(-1)?.level === token.level) lists.pop();
        break;
      case 'list_item_open': {
        const top = lists.at(-1);
        if (top && token.level === top.level + 1) top.entry.items++;
        break;
      }
      case 'blockquote_open':
        if (!inQuote && !inNotes) current.quotes.push({ line: fileLine(token) });
        inQuote++;
        break;
      case 'blockquote_close':
        inQuote--;
        break;
      case 'footnote_block_open':
        inNotes++;
        break;
      case 'footnote_block_close':
        inNotes--;
        break;
      case 'table_open':
        table = { line: fileLine(token), header: [], rows: [] };
        current.tables.push(table);
        break;
      case 'table_close':
        table = null;
        break;
      case 'tr_open':
        row = [];
        break;
      case 'tr_close':
        if (table && row) {
          if (table.header.length === 0 && table.rows.length === 0 && row.length) table.header = row;
          else table.rows.push(row);
        }
        row = null;
        break;
      case 'fence':
      case 'code_block':
        current.code.push({ line: fileLine(token) });
        break;
      case 'inline': {
        const value = inlineText(token);
        if (heading && !current.title) current.title = value;
        if (row) row.push(value);
        addText(value, !row && !inNotes);
        let line = fileLine(token);
        for (const child of token.children ?? []) {
          if (child.type === 'softbreak' || child.type === 'hardbreak') line++;
          else if (child.type === 'link_open') links.push({ href: String(child.attrGet('href') ?? ''), line });
          else if (child.type === 'image') current.images.push({ src: String(child.attrGet('src') ?? ''), line });
          else if (child.type === 'footnote_ref') footnotes++;
        }
        break;
      }
    }
  }
  // A body that starts with a heading has an empty start section; it says nothing.
  if (sections.length > 1) {
    const start = sections[0]!;
    if (!start.paragraphs && !start.lists.length && !start.tables.length && !start.images.length && !start.quotes.length && !start.code.length) sections.shift();
  }
  return { sections, links, footnotes, words, text: text.join('\n').slice(0, TEXT_SAMPLE_CHARS) };
}
