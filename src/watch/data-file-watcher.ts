import { dirname, resolve } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';

/**
 * Watches the data files of the applied profile sources and calls `onStable(source)` when a file
 * changed and then stayed unchanged for `stableMs`: a file still being written never starts a run.
 * It watches the files' folders (other names ignored), so that a file replaced by a rename, as
 * most exports write them (a temp file, then `mv`), is seen like one written in place.
 * `track` changes the set of files (after every reconcile) on the same watcher, adding and removing
 * folders, so that a write still settling when the set changes is not lost.
 */
export class DataFileWatcher {
  private watcher: FSWatcher | undefined;
  private sourcesByFile = new Map<string, Set<string>>();
  private folders = new Set<string>();

  constructor(
    private readonly stableMs: number,
    private readonly onStable: (source: string, file: string) => void,
  ) {}

  /** Watches exactly these files, each for the sources named. */
  async track(files: ReadonlyMap<string, readonly string[]>): Promise<void> {
    this.sourcesByFile = new Map([...files].map(([file, sources]) => [resolve(file), new Set(sources)]));
    const folders = new Set([...this.sourcesByFile.keys()].map((file) => dirname(file)));
    const added = [...folders].filter((folder) => !this.folders.has(folder));
    const removed = [...this.folders].filter((folder) => !folders.has(folder));
    this.folders = folders;
    if (!this.watcher) {
      if (added.length === 0) return;
      this.watcher = watch(added, {
        ignoreInitial: true,
        depth: 0,
        // Only the folders themselves and the files tracked: a temp file beside them is no event.
        ignored: (path: string) => !this.folders.has(resolve(path)) && !this.sourcesByFile.has(resolve(path)),
        awaitWriteFinish: {
          stabilityThreshold: this.stableMs,
          pollInterval: Math.min(100, Math.max(10, this.stableMs / 10)),
        },
      });
      for (const event of ['add', 'change'] as const) {
        this.watcher.on(event, (path: string) => {
          for (const source of this.sourcesByFile.get(resolve(path)) ?? []) this.onStable(source, path);
        });
      }
      const watcher = this.watcher;
      await new Promise<void>((done) => watcher.once('ready', () => done()));
      return;
    }
    if (removed.length > 0) this.watcher.unwatch(removed);
    if (added.length > 0) this.watcher.add(added);
  }

  async stop(): Promise<void> {
    const watcher = this.watcher;
    this.watcher = undefined;
    this.folders = new Set();
    await watcher?.close();
  }
}
