import type { Token } from 'markdown-it';

/** Text of an inline token as a reader sees it: no markup, links by their label. */
export function inlineText(inline: Token | undefined): string {
  let out = '';
  for (const child of inline?.children ?? []) {
    if (child.type === 'text' || child.type === 'code_inline') out += child.content;
    else if (child.type === 'softbreak' || child.type === 'hardbreak') out += ' ';
    else if (child.type === 'image') out += inlineText(child);
  }
  return out.trim();
}
