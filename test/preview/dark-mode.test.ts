import { describe, expect, it } from 'vitest';
import { emulateDarkMode, injectHead } from '../../src/server/preview/dark-mode.ts';

describe('emulateDarkMode', () => {
  it('switches dark queries on and light queries off, inside <style> only', () => {
    const html =
      '<html><head><style>p{color:#111}@media (prefers-color-scheme: dark){p{color:#eee}}' +
      '@media screen and (prefers-color-scheme:light){p{color:#000}}@media (max-width:480px){p{margin:0}}</style></head>' +
      '<body><p>@media (prefers-color-scheme: dark){ stays text }</p></body></html>';
    const result = emulateDarkMode(html);
    expect(result.html).toBe(
      '<html><head><style>p{color:#111}@media (min-width: 0px){p{color:#eee}}' +
        '@media screen and (max-width: 0px) and (min-width: 1px){p{color:#000}}@media (max-width:480px){p{margin:0}}</style></head>' +
        '<body><p>@media (prefers-color-scheme: dark){ stays text }</p></body></html>',
    );
    expect(result.rewrittenQueries).toBe(2);
    expect(result.declaresDark).toBe(false);
  });

  it('gives the root a dark colour scheme when the mail declares dark support', () => {
    const meta = emulateDarkMode('<html><head><meta name="color-scheme" content="light dark"></head><body></body></html>');
    expect(meta.declaresDark).toBe(true);
    expect(meta.html).toBe(
      '<html><head><meta name="color-scheme" content="light dark"><style data-depesche-preview>:root{color-scheme:dark}</style></head><body></body></html>',
    );
    const css = emulateDarkMode('<html><head><style>:root { color-scheme: light dark; }</style></head></html>');
    expect(css.declaresDark).toBe(true);
    const lightOnly = emulateDarkMode('<html><head><meta name="color-scheme" content="light"></head></html>');
    expect(lightOnly.declaresDark).toBe(false);
    expect(lightOnly.html).not.toContain('data-depesche-preview');
  });

  it('leaves a mail without dark styles unchanged', () => {
    const html = '<html><head><style>@media only screen and (min-width:480px){.c{width:600px}}</style></head><body></body></html>';
    expect(emulateDarkMode(html)).toEqual({ html, rewrittenQueries: 0, declaresDark: false });
  });
});

describe('injectHead', () => {
  it('puts markup before </head>, or first when there is no head', () => {
    expect(injectHead('<html><head><title>x</title></HEAD></html>', '<base>')).toBe('<html><head><title>x</title><base></HEAD></html>');
    expect(injectHead('<p>x</p>', '<base>')).toBe('<base><p>x</p>');
  });
});
