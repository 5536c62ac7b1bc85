import { resolve } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';

/**
 * Watches the data files of the applied profile sources and calls `onStable(source)` when a file
 * changed and then stayed unchanged for `stableMs`: a file still being written never starts a run.
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
    this.watcher = watch([...next.keys()], {
      ignoreInitial: true,
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
