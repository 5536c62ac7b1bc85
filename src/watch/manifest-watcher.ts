import { basename, resolve } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';

const MANIFEST = /\.ya?ml$/i;

/**
 * Watches PATH for changes of manifests (`*.yaml` / `*.yml`, skipping hidden folders and
 * node_modules, as `exportctl validate` does) and calls `onChange` with the changed file.
 */
export class ManifestWatcher {
  private watcher: FSWatcher | undefined;

  constructor(
    private readonly paths: readonly string[],
    private readonly cwd: string,
    private readonly onChange: (file: string) => void,
  ) {}

  /** Resolves once the initial scan is done (changes after it are reported). */
  async start(): Promise<void> {
    const roots = (this.paths.length > 0 ? this.paths : ['.']).map((path) => resolve(this.cwd, path));
    this.watcher = watch(roots, {
      ignoreInitial: true,
      ignored: (path, stats) => {
        const name = basename(path);
        if (roots.includes(path)) return false;
        if (name.startsWith('.') || name === 'node_modules') return true;
        return stats?.isFile() === true && !MANIFEST.test(name);
      },
      // Editors write in several steps; report a file once it has settled.
      awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 25 },
    });
    for (const event of ['add', 'change', 'unlink'] as const) {
      this.watcher.on(event, (path: string) => {
        if (MANIFEST.test(path) || roots.includes(path)) this.onChange(path);
      });
    }
    await new Promise<void>((done) => this.watcher?.once('ready', () => done()));
  }

  async stop(): Promise<void> {
    await this.watcher?.close();
    this.watcher = undefined;
  }
}
