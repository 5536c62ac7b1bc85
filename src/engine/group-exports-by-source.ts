import type { ExportDestinationSpec, ProfileSourceSpec } from '../config';
import { locatedSourceSpec, recordedSourceFolder } from '../profiles';
import type { RunEngineState } from './control-plane';

/**
 * The targets of one `run --all` / `--due` in groups that can share a read of their source
 * (`runExportGroup`), in the order given (a group where its first target was). Destinations share a
 * group when their applied ProfileSources resolve to the same spec (same type, files or database,
 * fields, encoding: two sources of other names on the same files share too); the read then shares
 * each part its members ask for alike (see `SharedSourceRead`).
 *
 * A destination reads alone (a group of its own) when it would not read with the others: a dry run
 * (`dryRun`: every target alone; a plan is cheap to repeat and its output must not wait on others),
 * an unfinished run to resume (its checkpoint past planning: it reads nothing, and would hold the
 * group back while it sends), or one whose destination, source or recorded folder cannot be found
 * (its run says why). A run that skips as unchanged is decided only after its list request; it
 * leaves the group then, before the read begins.
 */
export async function groupExportsBySource<T extends { readonly destination: string }>(
  store: RunEngineState,
  targets: readonly T[],
  options: { readonly dryRun: boolean },
): Promise<T[][]> {
  if (options.dryRun) return targets.map((target) => [target]);
  const groups = new Map<string, T[]>();
  const ordered: T[][] = [];
  for (const target of targets) {
    const key = await sharedReadKey(store, target.destination);
    const group = key === undefined ? undefined : groups.get(key);
    if (group) {
      group.push(target);
      continue;
    }
    const fresh = [target];
    ordered.push(fresh);
    if (key !== undefined) groups.set(key, fresh);
  }
  return ordered;
}

/**
 * The resolved source of `destination` as a key (destinations with equal keys may share a read),
 * or undefined when it must read alone (see `groupExportsBySource`).
 */
export async function sharedReadKey(store: RunEngineState, destination: string): Promise<string | undefined> {
  const resource = await store.resources.get('ExportDestination', destination);
  if (!resource) return undefined;
  const spec = resource.spec as unknown as ExportDestinationSpec;
  const source = await store.resources.get('ProfileSource', spec.source);
  if (!source) return undefined;
  const checkpoint = await store.runStore.checkpoints.of(destination);
  if (checkpoint !== undefined && checkpoint.phase !== 'planning') return undefined;
  try {
    const located = locatedSourceSpec(
      source.spec as unknown as ProfileSourceSpec,
      recordedSourceFolder(source.remoteFacts?.facts),
      source.name,
    );
    return JSON.stringify(located);
  } catch {
    return undefined;
  }
}
