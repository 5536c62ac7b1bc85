import type { RunProgress } from '../../engine/export-run-session';

/** A run in progress as the status page shows it. */
export interface LiveRun {
  readonly destination: string;
  readonly runId: number;
  readonly phase: string;
  readonly dryRun: boolean;
  /** Contacts sent (imports and removals confirmed) so far, and in all once planned. */
  readonly done: number;
  readonly total: number;
  readonly elapsedMs: number;
  /** Milliseconds left at the pace so far; null before the first contact is done. */
  readonly etaMs: number | null;
}

/**
 * The latest progress of each run in progress in this process (fed by the run engine's progress
 * callback, at most every 250 ms per run); a run leaves the board when it ends.
 */
export class RunProgressBoard {
  private readonly runs = new Map<string, RunProgress>();

  update(progress: RunProgress): void {
    this.runs.set(progress.destination, progress);
  }

  finish(destination: string): void {
    this.runs.delete(destination);
  }

  list(): LiveRun[] {
    return [...this.runs.values()]
      .sort((a, b) => a.destination.localeCompare(b.destination))
      .map((progress) => {
        const done = progress.importContacts.done + progress.removals.done;
        const total = progress.importContacts.total + progress.removals.total;
        const etaMs =
          done > 0 && total >= done ? Math.round((progress.elapsedMs * (total - done)) / done) : null;
        return {
          destination: progress.destination,
          runId: progress.runId,
          phase: progress.phase,
          dryRun: progress.dryRun,
          done,
          total,
          elapsedMs: Math.round(progress.elapsedMs),
          etaMs,
        };
      });
  }
}
