import type { ExportDestinationSpec, ProfileSourceSpec } from '../config';
import { locatedSourceSpec, recordedSourceFolder } from '../profiles';
import type { RunEngineState } from './control-plane';

/**
 * How many contacts the destinations of one group may hold in memory together, counted by their
 * last snapshots: the destinations of a group run at once in one worker (`exportWorkerHeap`), each
 * with its snapshot's index and its selection, where runs one or two at a time held one or two. A
 * million-contact run needs well under 150 MB, so two million keeps a group within the heap that
 * `--concurrency 2` needed; a larger set of destinations is cut into groups of that size, each with
 * a read of its own. (A first run has no snapshot yet and counts as none.)
 */
export const maxContactsPerSharedRead = 2_000_000;

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
 * leaves the group then, before the read begins. A group whose last snapshots hold more than
 * `maxContactsPerSharedRead` contacts together is cut in order into groups that hold fewer (a
 * destination larger than that alone is a group of its own).
 */
export async function groupExportsBySource<T extends { readonly destination: string }>(
  store: RunEngineState,
  targets: readonly T[],
  options: { readonly dryRun: boolean; readonly maxContacts?: number },
): Promise<T[][]> {
  if (options.dryRun) return targets.map((target) => [target]);
  const budget = options.maxContacts ?? maxContactsPerSharedRead;
  const groups = new Map<string, { members: T[]; contacts: number }>();
  const ordered: T[][] = [];
  for (const target of targets) {
    const key = await sharedReadKey(store, target.destination);
    const contacts = key === undefined ? 0 : await store.runStore.snapshots.size(target.destination);
    const group = key === undefined ? undefined : groups.get(key);
    if (group && group.contacts + contacts <= budget) {
      group.members.push(target);
      group.contacts += contacts;
      continue;
    }
    const fresh = { members: [target], contacts };
    ordered.push(fresh.members);
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
  // A run that sent batches while it read is taken up alone: it settles them before it reads again.
  if (
    checkpoint !== undefined &&
    (await store.runStore.imports.batches(checkpoint.runId)).some((batch) => batch.submissions > 0)
  )
    return undefined;
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
