import type {
  RemovalBatchCheckpoint,
  RemovalBatchState,
  RemovalBatchStore,
  RemovalTotals,
} from '../run-store';
import { SnapshotBucketChanges } from '../snapshot-buckets';
import type { SqliteRunContext } from './sqlite-run-context';
import { applySnapshotChanges } from './sqlite-snapshot-buckets';

/** A run's removals in `export_removals`, cut into the calls of `export_removal_batches`. */
export class SqliteRemovalBatches implements RemovalBatchStore {
  constructor(private readonly context: SqliteRunContext) {}

  async plan(runId: number, emails: Iterable<string>): Promise<number> {
    const insert = this.context.db.prepare('INSERT INTO export_removals (run_id, email_key) VALUES (?, ?)');
    return this.context.write(runId, () => {
      let planned = 0;
      for (const email of emails) planned += insert.run(runId, email).changes;
      return planned;
    });
  }

  async emails(runId: number): Promise<string[]> {
    return this.emailList(runId);
  }

  async planBatches(
    runId: number,
    destination: string,
    contactIds: ReadonlyMap<string, string>,
    perCall: number,
  ): Promise<void> {
    const { db } = this.context;
    const emails = this.emailList(runId);
    const assign = db.prepare(
      'UPDATE export_removals SET contact_id = ?, batch = ? WHERE run_id = ? AND email_key = ?',
    );
    const addBatch = db.prepare(
      `INSERT INTO export_removal_batches (run_id, batch, contacts, state) VALUES (?, ?, ?, 'planned')`,
    );
    this.context.write(runId, () => {
      let batch = 0;
      let inBatch = 0;
      // Not on the list: they leave the snapshot now.
      const leave = new SnapshotBucketChanges(destination);
      for (const email of emails) {
        const contactId = contactIds.get(email);
        if (contactId === undefined) {
          leave.remove(email);
          continue;
        }
        if (inBatch === 0) batch += 1;
        assign.run(contactId, batch, runId, email);
        inBatch += 1;
        if (inBatch === perCall) {
          addBatch.run(runId, batch, inBatch);
          inBatch = 0;
        }
      }
      if (inBatch > 0) addBatch.run(runId, batch, inBatch);
      if (applySnapshotChanges(db, leave) > 0) this.context.bumpRevision(destination);
      db.prepare(
        `UPDATE export_checkpoints SET removals_looked_up = 1, phase = 'removing', updated_at = ?
         WHERE run_id = ?`,
      ).run(this.context.now(), runId);
    });
  }

  async batches(runId: number): Promise<RemovalBatchCheckpoint[]> {
    const rows = this.context.db
      .prepare(
        `SELECT batch, contacts, state, activity_id, submissions FROM export_removal_batches WHERE run_id = ? ORDER BY batch`,
      )
      .all(runId) as {
      batch: number;
      contacts: number;
      state: RemovalBatchState;
      activity_id: string | null;
      submissions: number;
    }[];
    return rows.map((row) => ({
      batch: row.batch,
      contacts: row.contacts,
      state: row.state,
      activityId: row.activity_id ?? undefined,
      submissions: row.submissions,
    }));
  }

  async contactIds(runId: number, batch: number): Promise<string[]> {
    return (
      this.context.db
        .prepare('SELECT contact_id FROM export_removals WHERE run_id = ? AND batch = ? ORDER BY email_key')
        .all(runId, batch) as { contact_id: string }[]
    ).map((row) => row.contact_id);
  }

  async markSubmitted(runId: number, batch: number, activityId: string): Promise<void> {
    this.context.write(runId, () => {
      this.context.db
        .prepare(
          `UPDATE export_removal_batches SET state = 'submitted', activity_id = ?, submissions = submissions + 1 WHERE run_id = ? AND batch = ?`,
        )
        .run(activityId, runId, batch);
      this.context.claimActivity(activityId);
    });
  }

  async markPlanned(runId: number, batch: number): Promise<void> {
    this.context.write(runId, () => {
      this.context.db
        .prepare(
          `UPDATE export_removal_batches SET state = 'planned', activity_id = NULL WHERE run_id = ? AND batch = ?`,
        )
        .run(runId, batch);
    });
  }

  async confirm(runId: number, destination: string, batch: number): Promise<void> {
    const { db } = this.context;
    this.context.write(runId, () => {
      const removed = new SnapshotBucketChanges(destination);
      const emails = db
        .prepare('SELECT email_key FROM export_removals WHERE run_id = ? AND batch = ?')
        .pluck()
        .all(runId, batch) as string[];
      for (const email of emails) removed.remove(email);
      if (applySnapshotChanges(db, removed) > 0) this.context.bumpRevision(destination);
      db.prepare(`UPDATE export_removal_batches SET state = 'confirmed' WHERE run_id = ? AND batch = ?`).run(
        runId,
        batch,
      );
    });
  }

  async totals(runId: number): Promise<RemovalTotals> {
    const row = this.context.db
      .prepare(
        `SELECT (SELECT count(*) FROM export_removals WHERE run_id = @run) AS planned,
                (SELECT count(*) FROM export_removals WHERE run_id = @run AND batch IS NULL) AS unassigned,
                (SELECT count(*) FROM export_removal_batches WHERE run_id = @run) AS batches,
                (SELECT count(*) FROM export_removal_batches WHERE run_id = @run AND state = 'confirmed')
                  AS confirmed_batches,
                (SELECT coalesce(sum(contacts), 0) FROM export_removal_batches
                  WHERE run_id = @run AND state = 'confirmed') AS removed,
                (SELECT removals_looked_up FROM export_checkpoints WHERE run_id = @run) AS looked_up`,
      )
      .get({ run: runId }) as {
      planned: number;
      unassigned: number;
      batches: number;
      confirmed_batches: number;
      removed: number;
      looked_up: number | null;
    };
    const notOnList = row.looked_up === 1 ? row.unassigned : 0;
    return {
      planned: row.planned,
      batches: row.batches,
      confirmedBatches: row.confirmed_batches,
      removed: row.removed + notOnList,
      notOnList,
    };
  }

  private emailList(runId: number): string[] {
    return (
      this.context.db
        .prepare('SELECT email_key FROM export_removals WHERE run_id = ? ORDER BY email_key')
        .all(runId) as { email_key: string }[]
    ).map((row) => row.email_key);
  }
}
