import type { ProfileSourceSpec } from '../config';
import { resolveRowSources, type SourceChangeWatch, type SourceError, watchSourceChanges } from '../profiles';

/**
 * The watches of the applied sources that say how their changes are noticed without files (a
 * postgres source's `changeDetection`; see `SourceAdapter.watchChanges`). `track` is called after
 * every reconcile with every applied source: a source whose spec (or database) is unchanged keeps
 * its watch, so that its last value stays the baseline; the others are started or stopped.
 */
export class SourceChangeWatchers {
  private readonly watches = new Map<string, { key: string; watch: SourceChangeWatch }>();

  constructor(
    private readonly onChange: (source: string, what: string) => void,
    private readonly onError: (source: string, error: SourceError) => void,
  ) {}

  /** Watches exactly these sources (by name; specs with their secrets, paths absolute). */
  async track(sources: ReadonlyMap<string, ProfileSourceSpec>): Promise<void> {
    for (const [name, current] of [...this.watches]) {
      const spec = sources.get(name);
      if (spec === undefined || keyOf(spec) !== current.key) {
        this.watches.delete(name);
        await current.watch.stop();
      }
    }
    for (const [name, spec] of sources) {
      if (this.watches.has(name)) continue;
      const watch = watchSourceChanges(
        spec,
        (what) => this.onChange(name, what),
        (error) => this.onError(name, error),
      );
      if (watch !== undefined) this.watches.set(name, { key: keyOf(spec), watch });
    }
  }

  async stop(): Promise<void> {
    const watches = [...this.watches.values()];
    this.watches.clear();
    await Promise.all(watches.map((item) => item.watch.stop()));
  }
}

/** The spec and where its parts are (a database's identity, never its credentials). */
function keyOf(spec: ProfileSourceSpec): string {
  return JSON.stringify([spec, resolveRowSources(spec, '/')]);
}
