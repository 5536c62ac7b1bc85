import type Database from 'better-sqlite3';
import { RunEngineError } from '../run-engine-errors';
import { claimRetentionMs } from '../run-store';

/** The state's better-sqlite3 database (the engine's tables live in it beside the control plane's). */
export type SqliteDatabase = Database.Database;

/**
 * What the parts of the SQLite run store share: the database, the clock, and the guard every write
 * of a run goes through.
 */
export class SqliteRunContext {
  constructor(
    readonly db: SqliteDatabase,
    readonly now: () => number,
  ) {}

  /** `work` in one IMMEDIATE transaction, refused (`destination-replaced`) when the run's checkpoint is gone. */
  write<T>(runId: number, work: () => T): T {
    return this.db
      .transaction(() => {
        const exists = this.db.prepare('SELECT 1 FROM export_checkpoints WHERE run_id = ?').get(runId);
        if (exists === undefined) {
          throw new RunEngineError(
            'destination-replaced',
            `run ${runId} lost its checkpoint: its destination was deleted or replaced while it ran`,
            {
              context: { run: runId },
              hint: 'the destination now points at another list (or is gone): run it again to export to the applied one',
            },
          );
        }
        return work();
      })
      .immediate();
  }

  /** Moves the destination's snapshot revision to one it never had (its rows changed). */
  bumpRevision(destination: string): void {
    this.db
      .prepare(
        `INSERT OR REPLACE INTO export_snapshot_revisions (destination, revision)
         VALUES (?, (SELECT coalesce(max(revision), 0) + 1 FROM export_snapshot_revisions))`,
      )
      .run(destination);
  }

  /** Records `activityId` as a run's for good, and forgets claims older than any activity kept. */
  claimActivity(activityId: string): void {
    const now = this.now();
    this.db
      .prepare('INSERT OR IGNORE INTO export_claimed_activities (activity_id, claimed_at) VALUES (?, ?)')
      .run(activityId, now);
    this.db.prepare('DELETE FROM export_claimed_activities WHERE claimed_at < ?').run(now - claimRetentionMs);
  }
}
