import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCompiler, fillSample, type CompiledEdition } from '../src/render/index.ts';
import { layoutTable, TEXT_WIDTH } from '../src/render/text.ts';
import { scratchContent } from './content-fixtures.ts';

// The plain-text part and the look of the HTML for what real articles contain.

const ARTICLE = `---
template: article
title: Chinas Provinzen im Wettbewerb um KI-Firmen
subject: "Hintergrund: Vier Provinzen, vier Pläne"
preheader: Was Peking, Zhejiang, Sichuan und Guangdong vorhaben
date: 2026-03-01
issue: 7
tagline: Wie KI Chinas Industrien umbaut
---

Die Provinzen werben um dieselben Firmen. ~~Peking liegt vorn.~~ Das Rennen ist offen.[^1]

| Region | Datum | Schwerpunkt |
| --- | --- | --- |
| Guangdong | 21.01.2026 | Verkehr |
| Sichuan | 19.01.2026 | 25 Schwerpunktfelder |

| Modell | Anbieter | Sitz | Vorgestellt | Schwerpunkt | Kontextfenster | Offenheit |
| --- | --- | --- | --- | --- | --- | --- |
| Qwen3-Max-Thinking | Alibaba Cloud | Hangzhou | 26.01.2026 | Schlussfolgern, Agenten und eine sehr lange Beschreibung, die umbrechen muss | 262.000 Tokens | – |

![Karte der vier Provinzen](https://example.org/karte.png "Karte: Redaktion")

[^1]: Stand Januar 2026.
`;

let scratch: Awaited<ReturnType<typeof scratchContent>>;
let edition: CompiledEdition;
let text: string;
beforeAll(async () => {
  scratch = await scratchContent();
  await scratch.write('issues/text/de.md', ARTICLE);
  [edition] = (await createCompiler({ contentDir: scratch.dir }).compile('text')) as [CompiledEdition];
  text = fillSample(edition, 'https://briefing.example.org').text;
});
afterAll(() => scratch.cleanup());

describe('tables in the text part', () => {
  it('are aligned columns when they fit in 76 characters', () => {
    expect(text).toContain(['Region     Datum       Schwerpunkt', '---------  ----------  --------------------', 'Guangdong  21.01.2026  Verkehr', 'Sichuan    19.01.2026  25 Schwerpunktfelder'].join('\n'));
  });

  it('are "Header: value" lines per row when they do not, wrapped within the width', () => {
    expect(text).toContain('Modell: Qwen3-Max-Thinking\nAnbieter: Alibaba Cloud\nSitz: Hangzhou\nVorgestellt: 26.01.2026\nSchwerpunkt: Schlussfolgern, Agenten und eine sehr lange Beschreibung, die\n  umbrechen muss\nKontextfenster: 262.000 Tokens\nOffenheit: –');
    for (const line of text.split('\n').filter((l) => !l.includes('<http'))) expect(line.length, line).toBeLessThanOrEqual(TEXT_WIDTH);
  });

  it('layoutTable skips empty cells in the row form', () => {
    const wide = 'x'.repeat(40);
    expect(layoutTable([['A', 'B'], [wide, ''], ['', wide]])).toBe(`A: ${wide}\n\nB: ${wide}`);
  });
});

describe('the text part carries what the HTML shows', () => {
  it('keeps strikethrough, footnotes as endnotes, and the image caption', () => {
    expect(text.replace(/\s+/g, ' ')).toContain('~~Peking liegt vorn.~~ Das Rennen ist offen.[1]');
    expect(text).toMatch(/\n 1\. Stand Januar 2026\./);
    expect(text).toContain('[Karte der vier Provinzen]\n\nKarte: Redaktion');
  });

  it('opens an article with the masthead and no greeting (the article template turns it off)', () => {
    expect(text.startsWith('China AI2X Briefing · Ausgabe 7\nWie KI Chinas Industrien umbaut\n\nCHINAS PROVINZEN IM WETTBEWERB UM KI-FIRMEN\n')).toBe(true);
    expect(edition.text).not.toContain('%%depesche.greeting%%');
    expect(edition.html).not.toContain('%%depesche.greeting%%');
  });
});

describe('the HTML of an article', () => {
  it('has a masthead with the publication, tagline and issue number', () => {
    expect(edition.html).toMatch(/<p class="masthead-name"[^>]*>China AI2X Briefing<\/p>/);
    expect(edition.html).toContain('Wie KI Chinas Industrien umbaut');
    expect(edition.html).toContain('Ausgabe 7');
  });

  it('gives images a width for Outlook and shows the caption under them', () => {
    expect(edition.html).toMatch(/<img class="figure-img"[^>]*width="584"/);
    expect(edition.html).toMatch(/<p class="caption"[^>]*>Karte: Redaktion<\/p>/);
  });

  it('hides a preheader with filler, in colours SpamAssassin does not read as hidden text', () => {
    const div = /<div class="preheader" style="([^"]*)">([\s\S]*?)<\/div>/.exec(edition.html)!;
    expect(div[2]!.startsWith('Was Peking, Zhejiang, Sichuan und Guangdong vorhaben&#847;&zwnj;&nbsp;')).toBe(true);
    expect(div[2]!.split('&zwnj;').length - 1).toBeGreaterThanOrEqual(80);
    // SpamAssassin's HTML_FONT_LOW_CONTRAST (Mail::SpamAssassin::HTML, html_font_invisible):
    // it fires when the brightness-weighted distance of text and background colour is under 12.
    const hex = (property: string) => /(?:^|;)\s*PROP\s*:\s*#([0-9a-f]{6})/i.source.replace('PROP', property);
    const [fg, bg] = ['color', 'background-color'].map((p) => new RegExp(hex(p), 'i').exec(div[1]!)![1]!);
    const channels = (c: string) => [0, 2, 4].map((i) => parseInt(c.slice(i, i + 2), 16));
    const [r, g, b] = channels(fg!).map((v, i) => v - channels(bg!)[i]!);
    expect(Math.hypot(0.2126 * r!, 0.7152 * g!, 0.0722 * b!)).toBeGreaterThan(12);
    expect(edition.html).not.toMatch(/<div style="display:none;[^"]*color:#ffffff/);
  });
});
