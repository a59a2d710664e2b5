import { basename, join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

/** The content folders whose files feed a build. */
export const WATCHED_DIRS = ['issues', 'templates', 'locales'] as const;

export interface ContentWatcher {
  /** Resolves once the initial scan is done and changes are being reported. */
  ready: Promise<void>;
  close(): Promise<void>;
}

// Editors write swap, backup and lock files beside the real one; none of them feeds a build.
function isEditorNoise(path: string): boolean {
  const name = basename(path);
  return name.startsWith('.') || name.endsWith('~') || name.endsWith('.swp') || name.endsWith('.tmp') || name.startsWith('#');
}

/**
 * Reports each changed, added or removed file under issues/, templates/ and locales/.
 * Several events for one path within `settleMs` (an editor's write-then-rename) count once.
 */
export function watchContent(contentDir: string, onChange: (path: string) => void, settleMs = 25): ContentWatcher {
  const watcher: FSWatcher = watch(
    WATCHED_DIRS.map((dir) => join(contentDir, dir)),
    { ignoreInitial: true, ignored: (path) => isEditorNoise(path) },
  );
  const pending = new Map<string, NodeJS.Timeout>();
  const report = (path: string) => {
    clearTimeout(pending.get(path));
    pending.set(
      path,
      setTimeout(() => {
        pending.delete(path);
        onChange(path);
      }, settleMs),
    );
  };
  for (const event of ['add', 'change', 'unlink', 'addDir', 'unlinkDir'] as const) watcher.on(event, report);
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  return {
    ready,
    async close() {
      for (const timer of pending.values()) clearTimeout(timer);
      pending.clear();
      await watcher.close();
    },
  };
}
