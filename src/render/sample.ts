import type { Edition } from '../core/edition.ts';
import { compileMerge, fillMerge, sampleMergeValues } from './merge.ts';

/**
 * An edition with sample recipient values filled in, as build output and lint see it:
 * absolute links and no markers left.
 */
export function fillSample(edition: Edition, publicUrl: string, name = ''): { html: string; text: string } {
  const values = sampleMergeValues(publicUrl, edition.slug, edition.lang, edition.greeting, name);
  return {
    html: fillMerge(compileMerge(edition.html), values, 'html'),
    text: fillMerge(compileMerge(edition.text), values, 'text'),
  };
}
