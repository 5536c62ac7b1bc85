import type { ActivityCounters } from '../../constant-contact';
import type {
  ImportBatchCheckpoint,
  ImportBatchState,
  ImportBatchStore,
  ImportTotals,
  PlannedImportBatch,
} from '../run-store';
import type { SqliteRunContext } from './sqlite-run-context';

interface ImportBatchRow {
  batch: number;
  contacts: number;
  body_bytes: number;
  state: ImportBatchState;
  submissions: number;
  sent_at: number | null;
  activity_id: string | null;
  adopted: number;
}

/** A FROM and WHERE clause over a table aliased `t` with `email_key`, `entry`, `fingerprint`. */
export interface StagedSelection {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

/**
 * A run's import batches in `export_import_batches`, their bodies in `export_import_payloads` and
 * their contacts' snapshot rows in `export_import_rows` (written once, deleted when confirmed).
 */
export class SqliteImportBatches implements ImportBatchStore {
  constructor(private readonly context: SqliteRunContext) {}

  /**
   * Stores one planned import call with the contacts `selection` picks from the staging (this
   * folder's `SqliteContactStaging`), inside SQLite: the body and the batch's snapshot rows. Throws
   * when the selection does not hold `planned.contacts` contacts, and then nothing is stored.
   */
  storeFromStaging(
    runId: number,
    batch: number,
    planned: PlannedImportBatch,
    selection: StagedSelection,
  ): void {
    const { db } = this.context;
    this.context.write(runId, () => {
      db.prepare(
        `INSERT INTO export_import_batches (run_id, batch, contacts, body_bytes, state)
         VALUES (?, ?, ?, ?, 'planned')`,
      ).run(runId, batch, planned.contacts, planned.bodyBytes);
      db.prepare(
        `INSERT INTO export_import_payloads (run_id, batch, import_data)
         SELECT ?, ?, CAST(group_concat(t.entry, ',' ORDER BY t.email_key) AS BLOB) ${selection.sql}`,
      ).run(runId, batch, ...selection.parameters);
      const rows = db
        .prepare(
          `INSERT INTO export_import_rows (run_id, batch, email_key, fingerprint)
           SELECT ?, ?, t.email_key, t.fingerprint ${selection.sql} ORDER BY t.email_key`,
        )
        .run(runId, batch, ...selection.parameters).changes;
      if (rows !== planned.contacts) {
        throw new Error(
          `import batch ${batch} of run ${runId}: the plan counted ${planned.contacts} contacts from ${planned.firstEmail} to ${planned.lastEmail}, the staging holds ${rows}`,
        );
      }
    });
  }

  async batches(runId: number): Promise<ImportBatchCheckpoint[]> {
    const rows = this.context.db
      .prepare(
        `SELECT batch, contacts, body_bytes, state, submissions, sent_at, activity_id, adopted
         FROM export_import_batches WHERE run_id = ? ORDER BY batch`,
      )
      .all(runId) as ImportBatchRow[];
    return rows.map((row) => ({
      batch: row.batch,
      contacts: row.contacts,
      bodyBytes: row.body_bytes,
      state: row.state,
      submissions: row.submissions,
      sentAt: row.sent_at ?? undefined,
      activityId: row.activity_id ?? undefined,
      adopted: row.adopted === 1,
    }));
  }

  async data(runId: number, batch: number): Promise<Buffer> {
    const row = this.context.db
      .prepare('SELECT import_data FROM export_import_payloads WHERE run_id = ? AND batch = ?')
      .get(runId, batch) as { import_data: Buffer } | undefined;
    return row?.import_data ?? Buffer.alloc(0);
  }

  async markSending(runId: number, batch: number, sentAt: number): Promise<void> {
    this.setState(
      runId,
      batch,
      `state = 'sending', sent_at = ?, submissions = submissions + 1, activity_id = NULL, adopted = 0`,
      [sentAt],
    );
  }

  async markSubmitted(
    runId: number,
    batch: number,
    activityId: string,
    how: { adopted: boolean },
  ): Promise<void> {
    this.context.write(runId, () => {
      this.context.db
        .prepare(
          `UPDATE export_import_batches SET state = 'submitted', activity_id = ?, adopted = ?
           WHERE run_id = ? AND batch = ?`,
        )
        .run(activityId, how.adopted ? 1 : 0, runId, batch);
      this.context.claimActivity(activityId);
    });
  }

  async markPlanned(runId: number, batch: number): Promise<void> {
    this.setState(runId, batch, `state = 'planned', activity_id = NULL, adopted = 0`, []);
  }

  async confirm(
    runId: number,
    destination: string,
    batch: number,
    counters: ActivityCounters,
    errors: readonly string[],
  ): Promise<void> {
    const { db } = this.context;
    this.context.write(runId, () => {
      db.prepare(
        `INSERT INTO export_snapshots (destination, email_key, fingerprint, confirmed_run)
         SELECT ?, email_key, fingerprint, ? FROM export_import_rows WHERE run_id = ? AND batch = ?
         ORDER BY email_key
         ON CONFLICT (destination, email_key) DO UPDATE
         SET fingerprint = excluded.fingerprint, confirmed_run = excluded.confirmed_run`,
      ).run(destination, runId, runId, batch);
      db.prepare('DELETE FROM export_import_rows WHERE run_id = ? AND batch = ?').run(runId, batch);
      db.prepare('DELETE FROM export_import_payloads WHERE run_id = ? AND batch = ?').run(runId, batch);
      db.prepare(
        `UPDATE export_import_batches SET state = 'confirmed', counters = ?, errors = ?
         WHERE run_id = ? AND batch = ?`,
      ).run(JSON.stringify(counters), JSON.stringify(errors), runId, batch);
    });
  }

  async totals(runId: number): Promise<ImportTotals> {
    const row = this.context.db
      .prepare(
        `SELECT count(*) AS batches,
                count(*) FILTER (WHERE state = 'confirmed') AS confirmed_batches,
                coalesce(sum(contacts), 0) AS planned,
                coalesce(sum(contacts) FILTER (WHERE state = 'confirmed'), 0) AS imported,
                coalesce(sum(counters ->> '$.cannot_add_to_list_count'), 0) AS unsubscribed,
                coalesce(sum(counters ->> '$.error_count'), 0) AS rejected
         FROM export_import_batches WHERE run_id = ?`,
      )
      .get(runId) as {
      batches: number;
      confirmed_batches: number;
      planned: number;
      imported: number;
      unsubscribed: number;
      rejected: number;
    };
    return {
      batches: row.batches,
      confirmedBatches: row.confirmed_batches,
      plannedContacts: row.planned,
      imported: row.imported,
      unsubscribed: row.unsubscribed,
      rejected: row.rejected,
    };
  }

  private setState(runId: number, batch: number, assignments: string, values: unknown[]): void {
    this.context.write(runId, () => {
      this.context.db
        .prepare(`UPDATE export_import_batches SET ${assignments} WHERE run_id = ? AND batch = ?`)
        .run(...values, runId, batch);
    });
  }
}
