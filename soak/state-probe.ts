import Database from 'better-sqlite3';

/**
 * Read-only looks into exportctl's SQLite state, for two things only: to tell which phase a run is
 * in (so a kill can land there), and which runs a process created. The oracle never takes its
 * expectations from here.
 */
export class StateProbe {
  constructor(readonly file: string) {}

  /** `read(db)` on a read-only connection; undefined while the file is missing or busy. */
  private read<T>(read: (db: Database.Database) => T): T | undefined {
    let db: Database.Database | undefined;
    try {
      db = new Database(this.file, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 50');
      return read(db);
    } catch {
      return undefined;
    } finally {
      db?.close();
    }
  }

  /** The destination's unfinished run's checkpoint: its run and phase (planning, importing, removing). */
  checkpoint(destination: string): { runId: number; phase: string } | undefined {
    return this.read(
      (db) =>
        db
          .prepare('SELECT run_id AS runId, phase FROM export_checkpoints WHERE destination = ?')
          .get(destination) as { runId: number; phase: string } | undefined,
    );
  }

  /** States of the import batches of the destination's unfinished run. */
  importBatchStates(destination: string): string[] {
    return (
      this.read((db) =>
        (
          db
            .prepare(
              `SELECT b.state FROM export_import_batches b JOIN export_checkpoints c ON c.run_id = b.run_id
               WHERE c.destination = ? ORDER BY b.batch`,
            )
            .all(destination) as { state: string }[]
        ).map((row) => row.state),
      ) ?? []
    );
  }

  /**
   * Runs of the destination with an ID above `after`: their ID and status; undefined when the state
   * could not be read (missing, busy), so the caller can tell "none" from "not known".
   */
  runsAfter(destination: string, after: number): { id: number; status: string }[] | undefined {
    return this.read(
      (db) =>
        db
          .prepare('SELECT id, status FROM runs WHERE destination = ? AND id > ? ORDER BY id')
          .all(destination, after) as { id: number; status: string }[],
    );
  }

  /** The status of a run. */
  runStatus(id: number): string | undefined {
    return this.read(
      (db) =>
        (db.prepare('SELECT status FROM runs WHERE id = ?').get(id) as { status: string } | undefined)
          ?.status,
    );
  }
}
