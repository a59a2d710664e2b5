import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createCompiler, type Finding } from '../../src/render/index.ts';
import { strippedLayoutProblems } from '../../src/render/lint/rules/style-stripped.ts';
import { useScratchContent } from '../content-fixtures.ts';

const shell = (body: string, style = '') => `<html><head><style>${style}</style></head><body><div lang="de">${body}</div></body></html>`;
const section = (inner: string, style = 'margin:0px auto;max-width:640px;') => `<div style="${style}">${inner}</div>`;

describe('lint rule style-stripped', () => {
  it('reads what a mail keeps without <style>: width, images, buttons, colours, rules', () => {
    expect(strippedLayoutProblems(shell(section('<p>Text</p>')))).toEqual([]);
    const parts = (html: string) => strippedLayoutProblems(html).map((p) => p.part);
    expect(parts(shell(section('<p>Text</p>', 'margin:0 auto;')))).toEqual(['content width']);
    expect(parts(shell(section('<img src="https://e.org/a.png" alt="A">')))).toEqual(['images']);
    expect(parts(shell(section('<table><tr><td bgcolor="#9b1c1c" style="background:#9b1c1c;"><a href="https://e.org" style="color:#ffffff;">Lesen</a></td></tr></table>')))).toEqual(['buttons']);
    expect(parts(shell(section('<p>Impressum</p>', 'max-width:640px;background:#1d232a;')))).toEqual(['text colour']);
    expect(parts(shell(section('<p style="color:#ffffff;">Impressum</p>', 'max-width:640px;background-color:#1d232a;')))).toEqual(['backgrounds']);
    expect(parts(shell(section('<p>x</p>'), '.btn { background: red; } @media (max-width: 480px) { .x { width: 100% } } body { margin: 0 }'))).toEqual(['style rules']);
  });

  describe('on the templates', () => {
    const content = useScratchContent();

    it('passes the shipped templates and fails one whose footer colours live in <mj-style>', async () => {
      const compiler = createCompiler({ contentDir: content.current.dir });
      const rule = (findings: Finding[]) => findings.filter((f) => f.rule === 'style-stripped');
      expect(rule(await compiler.lintTemplates())).toEqual([]);

      const footer = `${content.current.dir}/templates/_shared/site-footer.hbs`;
      const head = `${content.current.dir}/templates/_shared/head.hbs`;
      await content.current.write('templates/_shared/site-footer.hbs', (await readFile(footer, 'utf8')).replaceAll(' style="color:#ffffff;"', ' class="foot-link"'));
      await content.current.write('templates/_shared/head.hbs', (await readFile(head, 'utf8')).replace('</mj-head>', '<mj-style>.foot-link { color: #ffffff; }</mj-style>\n</mj-head>'));
      compiler.invalidate(footer);
      const findings = rule(await compiler.lintTemplates());
      expect(findings.some((f) => /style rules: The rule "\.foot-link" lives only in a <style> block/.test(f.message))).toBe(true);
      expect(findings.some((f) => /text colour: The text "Im Browser lesen" sits on a dark background/.test(f.message))).toBe(true);
      expect(findings[0]!.file).toMatch(/templates\/(article|briefing)\/layout\.mjml\.hbs$/);
    });
  });
});
