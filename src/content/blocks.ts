import type { MarkdownIt, Token } from 'markdown-it';
import { DepescheError } from '../errors.ts';
import { splitInfo } from './markdown.ts';
import type { Image, Item, Link, Part, PartKind } from './model.ts';

/** What a block may and must contain. Block names are singular: one block is one item. */
interface BlockRule {
  kind: PartKind;
  /** Several blocks of this kind in a row form one part (news items, numbers, …). */
  repeat: boolean;
  attrs: Record<string, 'required' | 'optional'>;
  headline: 'required' | 'optional';
  body: 'required' | 'optional';
  fields: Partial<Record<'why' | 'about', 'required' | 'optional'>>;
  link: 'required' | 'optional' | 'none';
  image: 'required' | 'none';
  example: string;
}

const rule = (r: Partial<BlockRule> & Pick<BlockRule, 'kind' | 'example'>): BlockRule => ({
  repeat: false,
  attrs: {},
  headline: 'optional',
  body: 'required',
  fields: {},
  link: 'none',
  image: 'none',
  ...r,
});

export const BLOCKS: Record<string, BlockRule> = {
  editorial: rule({ kind: 'editorial', attrs: { signature: 'required', role: 'optional' }, example: '::: editorial signature="Name" role="Role"' }),
  focus: rule({ kind: 'focus', attrs: { dek: 'required' }, headline: 'required', fields: { why: 'required' }, link: 'required', example: '::: focus dek="One sentence under the headline"' }),
  news: rule({ kind: 'news', repeat: true, headline: 'required', fields: { why: 'required' }, link: 'optional', example: '::: news' }),
  quote: rule({ kind: 'quote', attrs: { by: 'required', when: 'optional' }, example: '::: quote by="Who said it" when="When"' }),
  number: rule({ kind: 'numbers', repeat: true, attrs: { figure: 'required', source: 'required' }, example: '::: number figure="602 Millionen" source="CNNIC"' }),
  policy: rule({ kind: 'policy', repeat: true, attrs: { region: 'required' }, fields: { about: 'required' }, example: '::: policy region="Guangdong"' }),
  radar: rule({ kind: 'radar', repeat: true, fields: { why: 'required' }, link: 'optional', example: '::: radar' }),
  deepdive: rule({ kind: 'deepdive', headline: 'required', link: 'required', image: 'required', example: '::: deepdive' }),
  footer: rule({ kind: 'footer', example: '::: footer' }),
};

const FIELD_NAMES = ['why', 'about'] as const;

interface Context {
  md: MarkdownIt;
  file: string;
  /** Body line n (0-based) is file line `offset + n + 1`. */
  offset: number;
  lines: string[];
}

function at(ctx: Context, token: Token | undefined): number {
  return ctx.offset + (token?.map?.[0] ?? 0) + 1;
}

function fail(ctx: Context, line: number, message: string, hint: string): never {
  throw new DepescheError('E_CONTENT', message, { location: { file: ctx.file, line }, hint });
}

/** Index just past the element that starts at `start` (its matching close, or itself). */
function elementEnd(tokens: Token[], start: number): number {
  const open = tokens[start]!;
  if (open.nesting !== 1) return start + 1;
  for (let i = start + 1; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (t.level === open.level && t.nesting === -1) return i + 1;
  }
  return tokens.length;
}

function isClosed(ctx: Context, token: Token, marker: string): boolean {
  const end = token.map?.[1];
  if (end === undefined || end >= ctx.lines.length) return false;
  const line = ctx.lines[end]!.trim();
  return line.length >= 3 && [...line].every((c) => c === marker);
}

/** Inline children without whitespace-only text and soft breaks. */
function meaningful(inline: Token | undefined): Token[] {
  return (inline?.children ?? []).filter((c) => !(c.type === 'softbreak' || (c.type === 'text' && c.content.trim() === '')));
}

function asImage(ctx: Context, tokens: Token[], start: number, end: number): Image | null {
  if (end - start !== 3 || tokens[start]!.type !== 'paragraph_open') return null;
  const children = meaningful(tokens[start + 1]);
  const image = children[0];
  if (children.length !== 1 || image?.type !== 'image') return null;
  return { src: String(image.attrGet('src') ?? ''), alt: image.content.trim(), caption: String(image.attrGet('title') ?? ''), line: at(ctx, tokens[start]) };
}

function asLink(ctx: Context, tokens: Token[], start: number, end: number): Link | null {
  if (end - start !== 3 || tokens[start]!.type !== 'paragraph_open') return null;
  const children = meaningful(tokens[start + 1]);
  const first = children[0];
  const last = children[children.length - 1];
  if (first?.type !== 'link_open' || last?.type !== 'link_close') return null;
  if (children.filter((c) => c.type === 'link_open').length !== 1) return null;
  const label = children
    .slice(1, -1)
    .map((c) => c.content)
    .join('')
    .trim();
  return { label, href: String(first.attrGet('href') ?? ''), line: at(ctx, tokens[start]) };
}

/**
 * Quote pairs an attribute value may use, each opening mark with its own closing one:
 * straight, German („…“ and ‚…‘), English curly (“…” and ‘…’), guillemets (»…« and «…»),
 * and the closing curly mark on both ends (”…”), which some keyboards produce. A mark of
 * another pair does not close a value: “Henrik Bork role=„Redakteur“ would swallow role.
 */
const QUOTES: Record<string, string> = {
  '"': '"',
  "'": "'",
  '„': '“',
  '‚': '‘',
  '“': '”',
  '”': '”',
  '‘': '’',
  '’': '’',
  '»': '«',
  '«': '»',
};

/** Unicode names of the quote marks an editor may type, for errors that point at one. */
const QUOTE_NAMES: Record<string, string> = {
  '"': 'the straight quote " (U+0022)',
  '“': 'the curly opening quote “ (U+201C)',
  '”': 'the curly closing quote ” (U+201D)',
  '„': 'the German low quote „ (U+201E)',
  '‘': 'the curly single quote ‘ (U+2018)',
  '’': 'the curly apostrophe ’ (U+2019)',
  '‚': 'the German low single quote ‚ (U+201A)',
  '»': 'the guillemet » (U+00BB)',
  '«': 'the guillemet « (U+00AB)',
  '`': 'the backtick ` (U+0060)',
  '´': 'the acute accent ´ (U+00B4)',
};

const quoteName = (mark: string) => QUOTE_NAMES[mark] ?? mark;

/** Another `key=<quote>` inside a value: its own closing mark is missing, and it swallowed the next attribute. */
const SWALLOWED = new RegExp(`(?:^|\\s)([A-Za-z]+)\\s*=\\s*[${Object.keys(QUOTES).join('')}]`);

/**
 * Reads `key=<quoted value>` at `pos`: the attribute, null when the text there is not
 * one, or a problem with its quotes (what was typed and what would close it).
 */
function readAttr(rest: string, pos: number): { key: string; value: string; end: number } | { problem: string } | null {
  const head = /([A-Za-z]+)\s*=\s*/y;
  head.lastIndex = pos;
  const match = head.exec(rest);
  if (!match) return null;
  const key = match[1]!;
  const start = head.lastIndex;
  const open = rest[start]!;
  const close = QUOTES[open];
  if (!close) return null;
  const at = rest.indexOf(close, start + 1);
  if (at < 0) {
    const others = [...new Set([...rest.slice(start + 1)].filter((c) => c in QUOTES))];
    return {
      problem: `the value of ${key} opens with ${quoteName(open)}, which only ${quoteName(close)} closes, and there is none on the line${others.length ? ` (it has ${others.join(' ')})` : ''}`,
    };
  }
  const value = rest.slice(start + 1, at);
  const swallowed = SWALLOWED.exec(value);
  if (swallowed) {
    return { problem: `the value of ${key} opens with ${open} and runs to the ${close} after ${swallowed[1]}=…, so it swallows ${swallowed[1]}: the ${close} that should end ${key} is missing` };
  }
  let end = at + 1;
  while (end < rest.length && /\s/.test(rest[end]!)) end++;
  return { key, value, end };
}

function parseAttrs(ctx: Context, token: Token, name: string, rest: string, allowed: BlockRule['attrs']): Record<string, string> {
  const attrs: Record<string, string> = {};
  const line = at(ctx, token);
  const pairs = 'straight quotes "…", or a typographic pair: „…“, “…”, »…«, «…»';
  let pos = 0;
  while (pos < rest.length) {
    const attr = readAttr(rest, pos);
    if (!attr || 'problem' in attr) {
      const near = rest.slice(pos, pos + 30);
      const odd = [...near].find((c) => c in QUOTE_NAMES);
      fail(
        ctx,
        line,
        attr ? `Cannot read the attributes of ::: ${name}: ${attr.problem}.` : `Cannot read the attributes of ::: ${name} near "${near}"${odd ? `: ${quoteName(odd)} has no matching closing mark` : ''}.`,
        `Write attributes as key="value" with ${pairs} (each opening mark with its own closing one), e.g. ${BLOCKS[name]!.example}`,
      );
    }
    const key = attr.key.toLowerCase();
    if (!(key in allowed)) {
      const known = Object.keys(allowed);
      fail(ctx, line, `::: ${name} has no attribute "${key}".`, known.length ? `Allowed here: ${known.join(', ')}.` : `::: ${name} takes no attributes; remove "${key}=…".`);
    }
    attrs[key] = attr.value.trim();
    pos = attr.end;
  }
  for (const [key, need] of Object.entries(allowed)) {
    if (need === 'required' && !attrs[key]) {
      fail(ctx, line, `::: ${name} needs the attribute ${key}="…".`, `Write it on the opening line, e.g. ${BLOCKS[name]!.example}`);
    }
  }
  return attrs;
}

function parseBlock(ctx: Context, tokens: Token[], open: number, close: number): { name: string; item: Item } {
  const token = tokens[open]!;
  const { name, rest } = splitInfo(token.info);
  const line = at(ctx, token);
  const spec = BLOCKS[name];
  if (!spec) {
    fail(ctx, line, `Unknown block "::: ${name}".`, `Use one of: ${Object.keys(BLOCKS).join(', ')} (see "Writing an issue" in README.md).`);
  }
  if (!isClosed(ctx, token, ':')) {
    fail(ctx, line, `The block "::: ${name}" is not closed.`, 'End it with a line holding only ::: (three colons).');
  }
  const attrs = parseAttrs(ctx, token, name, rest, spec.attrs);
  const { md } = ctx;
  const env = {};
  const item: Item = { line, headline: '', attrs, body: '', why: '', about: '', link: null, image: null };
  const body: Token[] = [];
  const elements: [number, number][] = [];
  for (let i = open + 1; i < close; ) {
    const end = elementEnd(tokens, i);
    elements.push([i, end]);
    i = end;
  }
  elements.forEach(([start, end], index) => {
    const t = tokens[start]!;
    if (t.type === 'container_block_open') {
      fail(ctx, at(ctx, t), `The block "::: ${splitInfo(t.info).name}" starts inside "::: ${name}" (line ${line}), which is not closed yet.`, `Close ::: ${name} with a line holding only ::: before line ${at(ctx, t)}. Blocks do not nest.`);
    }
    if (t.type === 'container_field_open') {
      const field = splitInfo(t.info).name;
      if (!(FIELD_NAMES as readonly string[]).includes(field)) {
        fail(ctx, at(ctx, t), `Unknown field "+++ ${field}".`, `Fields are: ${FIELD_NAMES.map((f) => `+++ ${f}`).join(', ')}.`);
      }
      if (!isClosed(ctx, t, '+')) {
        fail(ctx, at(ctx, t), `The field "+++ ${field}" is not closed.`, `End it with a line holding only +++ before the ::: that closes ::: ${name}.`);
      }
      const key = field as 'why' | 'about';
      if (!spec.fields[key]) {
        const allowed = Object.keys(spec.fields);
        fail(ctx, at(ctx, t), `::: ${name} has no field "+++ ${field}".`, allowed.length ? `Allowed here: ${allowed.map((f) => `+++ ${f}`).join(', ')}.` : `Remove it; ::: ${name} takes no fields.`);
      }
      if (item[key]) fail(ctx, at(ctx, t), `::: ${name} has two "+++ ${field}" fields.`, 'Merge them into one.');
      item[key] = md.renderer.render(tokens.slice(start + 1, end - 1), md.options, env);
      return;
    }
    if (t.type === 'heading_open' && !item.headline && body.length === 0) {
      item.headline = md.renderer.renderInline(tokens[start + 1]?.children ?? [], md.options, env);
      return;
    }
    if (spec.image === 'required' && !item.image) {
      const image = asImage(ctx, tokens, start, end);
      if (image) {
        item.image = image;
        return;
      }
    }
    if (spec.link !== 'none' && index === elements.length - 1) {
      const link = asLink(ctx, tokens, start, end);
      if (link) {
        item.link = link;
        return;
      }
    }
    body.push(...tokens.slice(start, end));
  });
  item.body = md.renderer.render(body, md.options, env);

  const missing = (what: string, hint: string) => fail(ctx, line, `::: ${name} is missing ${what}.`, hint);
  if (spec.headline === 'required' && !item.headline) missing('its headline', 'Start the block with a heading line: ## Headline');
  if (spec.body === 'required' && !item.body.trim()) missing('its text', 'Write at least one paragraph inside the block.');
  for (const [field, need] of Object.entries(spec.fields)) {
    if (need === 'required' && !item[field as 'why' | 'about']) missing(`"+++ ${field}"`, `Add a field:\n+++ ${field}\n…\n+++`);
  }
  if (spec.link === 'required' && !item.link) missing('its link', 'End the block with a paragraph holding only a link: [Read more](https://…)');
  if (spec.image === 'required') {
    if (!item.image) missing('its image', 'Add a paragraph holding only an image: ![Alt text](https://… "Caption")');
    else if (!item.image.alt) fail(ctx, item.image.line, 'The image has no alt text.', 'Describe the image between the brackets: ![What it shows](https://…)');
  }
  return { name, item };
}

/**
 * Reads a briefing body into its parts. Everything outside a block is an error, as
 * is a block that is unknown, unclosed, nested, repeated where it may not be, or
 * lacks what its part needs.
 */
export function parseParts(md: MarkdownIt, tokens: Token[], body: string, file: string, offset: number): Part[] {
  const ctx: Context = { md, file, offset, lines: body.split(/\r?\n/) };
  const parts: Part[] = [];
  const seen = new Map<PartKind, number>();
  for (let i = 0; i < tokens.length; ) {
    const end = elementEnd(tokens, i);
    const t = tokens[i]!;
    if (t.type === 'container_block_open') {
      const { name, item } = parseBlock(ctx, tokens, i, end - 1);
      const spec = BLOCKS[name]!;
      const last = parts[parts.length - 1];
      if (spec.repeat && last?.kind === spec.kind) {
        last.items.push(item);
      } else {
        const earlier = seen.get(spec.kind);
        if (earlier !== undefined) {
          fail(ctx, item.line, spec.repeat ? `This ::: ${name} block is separated from the other ${name} blocks (line ${earlier}).` : `A second ::: ${name} block; an issue has one.`, spec.repeat ? `Move it next to the other ::: ${name} blocks.` : `Merge it with the one at line ${earlier}.`);
        }
        seen.set(spec.kind, item.line);
        parts.push({ kind: spec.kind, line: item.line, items: [item] });
      }
    } else if (t.type === 'footnote_block_open') {
      const line = ctx.lines.findIndex((l) => /\[\^[^\]]+\]/.test(l));
      fail(ctx, ctx.offset + Math.max(line, 0) + 1, 'Footnotes work in articles, not in briefings.', 'Name the source in the text, or end the block with a link: [Source](https://…)');
    } else if (t.type === 'container_field_open') {
      fail(ctx, at(ctx, t), `The field "+++ ${splitInfo(t.info).name}" stands outside a block.`, 'Put it inside the ::: block it belongs to, before that block\'s closing :::.');
    } else {
      const text = (tokens[i + 1]?.content ?? '').trim();
      if (/^:{3,}$/.test(text)) {
        fail(ctx, at(ctx, t), 'A closing ::: without an open block.', 'Remove it, or open a block above it, e.g. ::: news');
      }
      fail(ctx, at(ctx, t), 'Text outside a block.', 'In a briefing every paragraph belongs to a block: wrap it in ::: <part> … ::: (see "Writing an issue" in README.md).');
    }
    i = end;
  }
  return parts;
}

/** Free-form body (the `article` template): plain Markdown, no blocks. */
export function parseFreeForm(md: MarkdownIt, tokens: Token[], body: string, file: string, offset: number): { html: string } {
  const ctx: Context = { md, file, offset, lines: body.split(/\r?\n/) };
  const block = tokens.find((t: Token) => t.type === 'container_block_open' || t.type === 'container_field_open');
  if (block) {
    fail(ctx, at(ctx, block), `Blocks like "${block.markup} ${splitInfo(block.info).name}" belong to briefings.`, 'An article is plain Markdown: headings, paragraphs, lists, tables, quotes and images. Remove the block markers.');
  }
  return { html: md.renderer.render(tokens, md.options, {}) };
}
