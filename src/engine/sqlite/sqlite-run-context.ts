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

  /**
   * `write`, committed without waiting for the disk (synchronous=NORMAL for this one transaction,
   * then the connection's own level again): for the staged contacts and the batches cut from them,
   * written by the thousand while a run plans. In WAL mode a commit at NORMAL is in the log before
   * this returns, so a crash of the process (kill -9) loses nothing of it; only a power loss can,
   * and then it loses a suffix of the log at most. The plan ends with the checkpoint's move to
   * `importing`, committed at the connection's level (FULL): that sync makes every frame before it
   * durable too, so a run that can send (and resume) has its staged contacts and batches on disk.
   * What a power loss takes before that leaves the checkpoint in `planning`: the next run drops
   * it and plans again. Inside another transaction (the level cannot change there)
   * it is `write`.
   */
  writeUnsynced<T>(runId: number, work: () => T): T {
    const level = this.db.inTransaction ? 1 : Number(this.db.pragma('synchronous', { simple: true }));
    if (level <= 1) return this.write(runId, work);
    this.db.pragma('synchronous = NORMAL');
    try {
      return this.write(runId, work);
    } finally {
      this.db.pragma(`synchronous = ${level}`);
    }
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
