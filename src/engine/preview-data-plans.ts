import type { ExportctlError } from '../errors';
import type { ResourceChange, RunEngineState } from './control-plane';
import { runExport, toExportctlError } from './run-export';
import type { ExportRunRecord } from './run-record';

/** One planned change of the control plane, as apply would store it. */
export type PreviewChange = ResourceChange;

/** The data plan of one destination under the planned change, or why there is none. */
export type DataPlanPreview =
  | { readonly destination: string; readonly record: ExportRunRecord }
  | { readonly destination: string; readonly error: ExportctlError };

/**
 * What each of `destinations` would send if `changes` were applied and it then ran: a dry run of
 * each against a throwaway copy of the state with the changes applied to it (the same snapshots, a
 * replaced destination's snapshot dropped, as apply drops it). The real state is only read: no run
 * is recorded, no snapshot or checkpoint changes, and nothing is sent (a dry run sends nothing, not
 * even a GET). The copy (the row issues of its dry runs with it) is deleted before this resolves.
 */
export async function previewDataPlans(
  store: RunEngineState,
  changes: readonly PreviewChange[],
  destinations: readonly string[],
  options: { env: NodeJS.ProcessEnv },
): Promise<DataPlanPreview[]> {
  if (destinations.length === 0) return [];
  const copy = await store.scratchCopy(changes);
  try {
    const previews: DataPlanPreview[] = [];
    for (const destination of destinations) {
      try {
        const result = await runExport({
          store: copy,
          destination,
          dryRun: true,
          env: options.env,
        });
        previews.push(
          result.error ? { destination, error: result.error } : { destination, record: result.record },
        );
      } catch (error) {
        previews.push({ destination, error: toExportctlError(error) });
      }
    }
    return previews;
  } finally {
    await copy.dispose();
  }
}
