import { parseDocument } from 'htmlparser2';
import { findAll, getAttributeValue, hasAttrib, textContent } from 'domutils';
import type { AnyNode, Element } from 'domhandler';
import postcss from 'postcss';
import type { Finding } from '../finding.ts';
import type { TemplateRule } from '../rule.ts';

/**
 * GMX and WEB.DE desktop webmail drop every <style> element (caniemail, html-style,
 * tested 2023). The mail must then still hold together on its inline styles alone. This
 * rule reads the probe's HTML as those webmailers keep it and checks what would break:
 * the content width, images, buttons, text on coloured backgrounds (the footer), and
 * style rules the layout needs that live only in a <style> block.
 * test/render-style-stripped.test.ts renders the same in Chromium to prove the point.
 */

/** MJML's own reset rules outside media queries: harmless to lose. `:root` only declares the colour scheme. */
const MJML_RESET = new Set(['#outlook a', 'body', 'table, td', 'img', 'p', ':root']);

export interface StrippedProblem {
  part: 'content width' | 'images' | 'buttons' | 'text colour' | 'backgrounds' | 'style rules';
  message: string;
}

const styleOf = (el: Element) => getAttributeValue(el, 'style') ?? '';
function declaration(style: string, property: string): string | undefined {
  for (const part of style.split(';')) {
    const colon = part.indexOf(':');
    if (colon > 0 && part.slice(0, colon).trim().toLowerCase() === property) return part.slice(colon + 1).trim();
  }
  return undefined;
}

/** Relative luminance of #rgb / #rrggbb; undefined for anything else. */
export function luminance(color: string | undefined): number | undefined {
  const hex = /#([0-9a-f]{3}|[0-9a-f]{6})\b/i.exec(color ?? '')?.[1];
  if (!hex) return undefined;
  const full = hex.length === 3 ? [...hex].map((c) => c + c).join('') : hex;
  const [r, g, b] = [0, 2, 4].map((i) => {
    const c = parseInt(full.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

function background(el: Element): string | undefined {
  const style = styleOf(el);
  return declaration(style, 'background-color') ?? declaration(style, 'background') ?? getAttributeValue(el, 'bgcolor');
}

function label(el: Element): string {
  const cls = getAttributeValue(el, 'class');
  const text = textContent(el).replace(/\s+/g, ' ').trim().slice(0, 40);
  return `<${el.name}${cls ? ` class="${cls}"` : ''}>${text ? ` "${text}"` : ''}`;
}

/** Style rules from <style> elements that apply at desktop width, other than MJML's reset. */
function desktopRules(styles: readonly Element[]): string[] {
  const selectors: string[] = [];
  for (const style of styles) {
    if (hasAttrib(style, 'media')) continue;
    const root = postcss.parse(textContent(style));
    root.walkRules((rule) => {
      if (rule.parent?.type === 'atrule') return;
      if (!MJML_RESET.has(rule.selector.replace(/\s+/g, ' ').trim())) selectors.push(rule.selector);
    });
  }
  return selectors;
}

export function strippedLayoutProblems(html: string): StrippedProblem[] {
  const doc = parseDocument(html);
  const problems: StrippedProblem[] = [];
  const styles = findAll((el) => el.name === 'style', doc.children);
  for (const selector of desktopRules(styles)) {
    problems.push({ part: 'style rules', message: `The rule "${selector}" lives only in a <style> block.` });
  }
  const body = findAll((el) => el.name === 'body', doc.children)[0];
  if (!body) return problems;
  const wrapper = findAll((el) => el.name === 'div' && hasAttrib(el, 'lang'), body.children)[0] ?? body;
  const sections = wrapper.children.filter((n): n is Element => n.type === 'tag');
  for (const section of sections) {
    const max = /^(\d+)px$/.exec(declaration(styleOf(section), 'max-width') ?? '')?.[1];
    if (!max || Number(max) > 800) {
      problems.push({ part: 'content width', message: `${label(section)} has no inline max-width, so it spans the whole window.` });
    }
  }
  for (const img of findAll((el) => el.name === 'img', body.children)) {
    const style = styleOf(img);
    if (!/^\d+$/.test(getAttributeValue(img, 'width') ?? '') && !declaration(style, 'max-width') && !declaration(style, 'width')) {
      problems.push({ part: 'images', message: `The image ${getAttributeValue(img, 'src') ?? ''} has neither a width attribute nor an inline width, so it shows at its natural size.` });
    }
  }
  for (const link of findAll((el) => el.name === 'a', body.children)) {
    const cell = link.parent as Element | null;
    if (!cell || cell.name !== 'td' || !background(cell)) continue;
    const style = styleOf(link);
    if (!declaration(style, 'padding') && !declaration(styleOf(cell), 'padding')) {
      problems.push({ part: 'buttons', message: `The button ${label(link)} has no inline padding.` });
    }
  }
  // Text on a dark background needs a light colour inline, or it turns black on dark.
  const walk = (node: AnyNode, dark: boolean, light: boolean) => {
    if (node.type === 'text') {
      if (dark && !light && node.data.trim()) problems.push({ part: 'text colour', message: `The text "${node.data.trim().slice(0, 40)}" sits on a dark background without an inline light colour.` });
      return;
    }
    if (node.type !== 'tag' && node.type !== 'root') return;
    let isDark = dark;
    let isLight = light;
    if (node.type === 'tag') {
      const bg = luminance(background(node));
      if (bg !== undefined) {
        isDark = bg < 0.2;
        isLight = false;
        // GMX and WEB.DE desktop keep a hex colour only in the background shorthand or bgcolor.
        const style = styleOf(node);
        if (isDark && !declaration(style, 'background') && !getAttributeValue(node, 'bgcolor')) {
          problems.push({ part: 'backgrounds', message: `${label(node)} sets its dark background only as background-color, which GMX and WEB.DE desktop drop for hex colours; add background: or bgcolor.` });
        }
      }
      const color = luminance(declaration(styleOf(node), 'color'));
      if (color !== undefined) isLight = color > 0.4;
      // A link does not inherit its colour: without its own, it is the client's link blue.
      else if (node.name === 'a') isLight = false;
      if (node.name === 'style' || node.name === 'title') return;
    }
    for (const child of (node as Element).children) walk(child, isDark, isLight);
  };
  walk(body, false, false);
  return problems;
}

export const styleStripped: TemplateRule = {
  name: 'style-stripped',
  description: 'the mail keeps its layout with every <style> removed, as GMX and WEB.DE desktop webmail show it',
  check({ template, probes }) {
    const probe = probes[0];
    if (!probe) return [];
    const problems = strippedLayoutProblems(probe.html);
    const findings: Finding[] = [];
    const seen = new Set<string>();
    for (const problem of problems) {
      // One finding per part and message: a footer with ten dark links is one problem.
      const key = `${problem.part}|${problem.message.replace(/"[^"]*"/g, '')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      findings.push({
        severity: 'error',
        rule: 'style-stripped',
        file: template.file,
        message: `Template "${template.name}" without <style> (GMX, WEB.DE desktop), ${problem.part}: ${problem.message}`,
        hint: 'Whatever the layout needs must be inline: use <mj-style inline="inline">, MJML attributes or style="…" in the template. Keep <mj-style> without inline for media queries and dark mode only.',
      });
    }
    return findings;
  },
};
