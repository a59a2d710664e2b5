import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCompiler } from '../../src/render/index.ts';
import { PreviewState, type PreviewEvent } from '../../src/server/preview/state.ts';
import { copyContent, type ContentCopy } from './content.ts';

let content: ContentCopy;

beforeAll(async () => {
  content = await copyContent();
});

afterAll(async () => {
  await content?.remove();
});

describe('PreviewState', () => {
  it('rebuilds only the issues a change affects, and tells the pages', async () => {
    const state = new PreviewState(createCompiler({ contentDir: content.dir }), content.dir);
    state.lintDelayMs = 60_000; // lint is not under test here
    const slugs = (await state.summaries()).map((s) => s.slug);
    expect(slugs.length).toBeGreaterThanOrEqual(2);
    const [a, b] = slugs as [string, string];
    await state.get(a);
    await state.get(b);
    const events: PreviewEvent[] = [];
    state.events.on('event', (event) => events.push(event));
    const versions = async () => [(await state.get(a)).version, (await state.get(b)).version];

    await state.changed(join(content.dir, 'issues', a, 'de.md'));
    expect(await versions()).toEqual([2, 1]);
    expect(events).toContainEqual({ type: 'issue', slug: a, version: 2, ok: true });
    expect(events.some((e) => e.type === 'issue' && e.slug === b)).toBe(false);

    await state.changed(join(content.dir, 'templates', 'briefing', 'layout.mjml.hbs'));
    expect(await versions()).toEqual([3, 2]);
    await state.changed(join(content.dir, 'locales', 'de.json'));
    expect(await versions()).toEqual([4, 3]);
    expect(events.filter((e) => e.type === 'index').length).toBe(3);
  });
});
