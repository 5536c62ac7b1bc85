import { dirname, resolve } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';

/**
 * Watches the data files of the applied profile sources and calls `onStable(source)` when a file
 * changed and then stayed unchanged for `stableMs`: a file still being written never starts a run.
 * It watches the files' folders (other names ignored), so that a file replaced by a rename, as
 * most exports write them (a temp file, then `mv`), is seen like one written in place.
 * `track` replaces the set of files (after every reconcile).
 */
export class DataFileWatcher {
  private watcher: FSWatcher | undefined;
  private sourcesByFile = new Map<string, Set<string>>();

  constructor(
    private readonly stableMs: number,
    private readonly onStable: (source: string, file: string) => void,
  ) {}

  /** Watches exactly these files, each for the sources named. */
  async track(files: ReadonlyMap<string, readonly string[]>): Promise<void> {
    const next = new Map([...files].map(([file, sources]) => [resolve(file), new Set(sources)]));
    const same =
      next.size === this.sourcesByFile.size && [...next.keys()].every((file) => this.sourcesByFile.has(file));
    this.sourcesByFile = next;
    if (same && this.watcher) return;
    await this.watcher?.close();
    this.watcher = undefined;
    if (next.size === 0) return;
    const folders = new Set([...next.keys()].map((file) => dirname(file)));
    this.watcher = watch([...folders], {
      ignoreInitial: true,
      depth: 0,
      // Only the folders themselves and the files tracked: a temp file beside them is no event.
      ignored: (path: string) => !folders.has(resolve(path)) && !this.sourcesByFile.has(resolve(path)),
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
    await new Promise<void>((done) => this.watcher?.once('ready', () => done()));
  }

  async stop(): Promise<void> {
    await this.watcher?.close();
    this.watcher = undefined;
  }
}
