import { loadAsset, loadSharedAssets, type Asset } from '../shared/assets.ts';

export type { Asset } from '../shared/assets.ts';

/** The shared stylesheet and icon, and the preview's own page script. */
export function loadAssets(): Map<string, Asset> {
  const assets = loadSharedAssets();
  assets.set('preview.js', loadAsset(new URL('./assets/preview.js', import.meta.url), 'text/javascript; charset=utf-8'));
  return assets;
}
