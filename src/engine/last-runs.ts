import type { RunHistoryPort, RunRecord } from './control-plane';
import { exportRunRecord } from './run-record';

/** A destination's last runs, real and dry apart. */
export interface LastRuns {
  /** The newest run that was not a dry run (it may have failed); undefined if it never ran for real. */
  readonly run: RunRecord | undefined;
  /** The newest dry run, when it is newer than `run` (an older one says nothing about now). */
  readonly dryRun: RunRecord | undefined;
}

/** Runs read per query while looking back for the last real run. */
const pageSize = 50;

/**
 * The last real run of `destination` and the newest dry run after it. A dry run sends nothing, so
 * it never stands in for the last real run: a failed run followed by a successful `--dry-run` is
 * still the destination's last run (`status`, `run --due`). Pages back through the history, however
 * many dry runs came since.
 */
export async function lastRuns(
  history: Pick<RunHistoryPort, 'list'>,
  destination: string,
): Promise<LastRuns> {
  let dryRun: RunRecord | undefined;
  let before: RunRecord | undefined;
  for (;;) {
    const page = await history.list({ destination, limit: pageSize, ...(before ? { before } : {}) });
    for (const run of page) {
      if (exportRunRecord(run)?.dryRun !== true) return { run, dryRun };
      dryRun ??= run;
    }
    if (page.length < pageSize) return { run: undefined, dryRun };
    before = page[page.length - 1];
  }
}
