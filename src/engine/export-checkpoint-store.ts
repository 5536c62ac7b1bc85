import type { ActivityCounters } from '../constant-contact';
import type { SqliteDatabase } from '../state/sqlite/sqlite-migrations';
import { RunEngineError } from './run-engine-errors';

/**
 * How long a claimed activity ID is remembered: Constant Contact lists activities of the last 10
 * days (API-NOTES, Activities), so an older one can never be offered for adoption again.
 */
export const claimRetentionMs = 30 * 86_400_000;

/** Where an unfinished run is: its work is planned from `importing` on, so it can be resumed. */
export type CheckpointPhase = 'planning' | 'importing' | 'removing';

/** The unfinished run of one destination. */
export interface Checkpoint {
  readonly runId: number;
  readonly destination: string;
  readonly listId: string;
  readonly phase: CheckpointPhase;
  /** The contact IDs of the removals have been looked up and the removal calls planned. */
  readonly removalsLookedUp: boolean;
}

export type ImportBatchState = 'planned' | 'sending' | 'submitted' | 'confirmed';

/** One import call of a run, as its checkpoint holds it (its contacts apart: `importData`). */
export interface ImportBatchCheckpoint {
  readonly batch: number;
  readonly contacts: number;
  readonly bodyBytes: number;
  readonly state: ImportBatchState;
  /** How many times it was (or may have been) sent. */
  readonly submissions: number;
  /** When it was last marked `sending` (epoch ms): its activity, if any, was created after this. */
  readonly sentAt: number | undefined;
  readonly activityId: string | undefined;
  /**
   * Its activity was found among the recent ones after the answer was lost, not answered: the batch
   * is confirmed only once the list is seen to hold its contacts.
   */
  readonly adopted: boolean;
}

/** One import call the planning pass cut: how many contacts, how big, which range of emails. */
export interface PlannedImportBatch {
  readonly contacts: number;
  readonly bodyBytes: number;
  readonly firstEmail: string;
  readonly lastEmail: string;
  /**
   * The batch's contacts as `[emailKey, key]`, when they are a small part of their range of emails
   * (a small delta): then they are picked by key rather than by filtering the whole range.
   */
  readonly keys?: readonly (readonly [string, string])[];
}

/** SQL that selects the contacts of a batch from the run's staging (see `ContactStaging`). */
export interface StagedSelection {
  /** A FROM and WHERE clause over a table aliased `t` with `email_key`, `entry`, `fingerprint`. */
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

export type RemovalBatchState = 'planned' | 'submitted' | 'confirmed';

export interface RemovalBatchCheckpoint {
  readonly batch: number;
  readonly contacts: number;
  readonly state: RemovalBatchState;
  readonly activityId: string | undefined;
  /** Times it was sent, over every process that worked on the run. */
  readonly submissions: number;
}

/** Sums over a run's confirmed import batches. */
export interface ImportTotals {
  readonly batches: number;
  readonly confirmedBatches: number;
  readonly plannedContacts: number;
  /** Contacts of confirmed batches. */
  readonly imported: number;
  /** Sum of `cannot_add_to_list_count`: unsubscribed contacts Constant Contact kept off the list. */
  readonly unsubscribed: number;
  /** Sum of `error_count`: contacts Constant Contact refused. */
  readonly rejected: number;
}

export interface RemovalTotals {
  readonly planned: number;
  readonly batches: number;
  readonly confirmedBatches: number;
  /** Removals confirmed: removed by an activity, or found not to be on the list. */
  readonly removed: number;
  /** Of those, found not to be on the list (nothing to send). */
  readonly notOnList: number;
}

interface CheckpointRow {
  run_id: number;
  destination: string;
  list_id: string;
  phase: CheckpointPhase;
  removals_looked_up: number;
}

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

/**
 * The durable side of runs (tables of `runEngineMigrations`): snapshots, checkpoints, planned
 * import and removal batches and their states. Every method is one short transaction on the state's
 * database. Confirming a batch and updating the snapshot happen in the same transaction, and only for
 * a run whose checkpoint still exists: if `apply` deleted or replaced the destination meanwhile (the
 * trigger drops its checkpoint), confirming throws `destination-replaced` and writes nothing.
 */
export class ExportCheckpointStore {
  constructor(
    private readonly db: SqliteDatabase,
    private readonly now: () => number,
  ) {}

  /** The destination's unfinished run, if any. */
  checkpointOf(destination: string): Checkpoint | undefined {
    const row = this.db.prepare('SELECT * FROM export_checkpoints WHERE destination = ?').get(destination) as
      | CheckpointRow
      | undefined;
    return row === undefined ? undefined : toCheckpoint(row);
  }

  /** Records that run `runId` of `destination` has started planning (phase `planning`). */
  createCheckpoint(runId: number, destination: string, listId: string): void {
    const now = this.now();
    this.db
      .prepare(
        `INSERT INTO export_checkpoints (run_id, destination, list_id, phase, created_at, updated_at)
         VALUES (?, ?, ?, 'planning', ?, ?)`,
      )
      .run(runId, destination, listId, now, now);
  }

  /**
   * A run that fails after sending: the contacts of its import batches that were sent but not
   * confirmed may be on the list (an activity exists, its end is unknown). They enter the snapshot
   * with an empty fingerprint, unconfirmed, so the next run sends those still selected again (the
   * fingerprint differs) and treats those no longer selected as leavers: exportctl put them there,
   * so a `remove-from-list` destination removes them (a leaver not on the list just leaves the
   * snapshot). Dropping them instead left contacts exportctl added on the list, untracked, for good.
   */
  keepUnconfirmedSends(runId: number, destination: string): number {
    return this.db.transaction(
      () =>
        this.db
          .prepare(
            `INSERT INTO export_snapshots (destination, email_key, fingerprint, confirmed_run)
             SELECT ?, r.email_key, '', ? FROM export_import_rows r
             JOIN export_import_batches b ON b.run_id = r.run_id AND b.batch = r.batch
             WHERE r.run_id = ? AND b.state <> 'confirmed' AND b.submissions > 0
             ORDER BY r.email_key
             ON CONFLICT (destination, email_key) DO UPDATE SET fingerprint = ''`,
          )
          .run(destination, runId, runId).changes,
    )();
  }

  /** Drops the run's checkpoint and everything planned under it. */
  deleteCheckpoint(runId: number): void {
    this.db.prepare('DELETE FROM export_checkpoints WHERE run_id = ?').run(runId);
  }

  setPhase(runId: number, phase: CheckpointPhase): void {
    this.write(runId, () => {
      this.db
        .prepare('UPDATE export_checkpoints SET phase = ?, updated_at = ? WHERE run_id = ?')
        .run(phase, this.now(), runId);
    });
  }

  /** The list's membership count when the destination's last run succeeded, if that is known. */
  listBaseline(destination: string, listId: string): number | undefined {
    const row = this.db
      .prepare('SELECT membership_count FROM export_list_baselines WHERE destination = ? AND list_id = ?')
      .get(destination, listId) as { membership_count: number } | undefined;
    return row?.membership_count;
  }

  /** Records what the list held at the end of a run that succeeded. */
  setListBaseline(destination: string, listId: string, membershipCount: number): void {
    this.db
      .prepare(
        `INSERT INTO export_list_baselines (destination, list_id, membership_count, observed_at)
         VALUES (?, ?, ?, ?)
         ON CONFLICT (destination) DO UPDATE SET list_id = excluded.list_id,
           membership_count = excluded.membership_count, observed_at = excluded.observed_at`,
      )
      .run(destination, listId, membershipCount, this.now());
  }

  /** Forgets the baseline while a run works: one that does not succeed leaves none. */
  dropListBaseline(destination: string): void {
    this.db.prepare('DELETE FROM export_list_baselines WHERE destination = ?').run(destination);
  }

  /**
   * Holds the snapshot against the list's members (`emailKeys`, lowercased, from a bulk export):
   * snapshot members the list lacks leave the snapshot, so the run's diff sends them again, and the
   * list's members exportctl did not put there are counted. One transaction, inside SQLite.
   */
  reconcileSnapshotWithList(
    destination: string,
    emailKeys: readonly string[],
  ): { readonly missing: number; readonly notExportctls: number } {
    return this.db.transaction(() => {
      this.db.exec(
        'CREATE TEMP TABLE IF NOT EXISTS list_members_seen (email_key TEXT PRIMARY KEY) WITHOUT ROWID',
      );
      this.db.exec('DELETE FROM temp.list_members_seen');
      const insert = this.db.prepare('INSERT OR IGNORE INTO temp.list_members_seen (email_key) VALUES (?)');
      for (const key of emailKeys) insert.run(key);
      const notExportctls = (
        this.db
          .prepare(
            `SELECT count(*) AS n FROM temp.list_members_seen m
             WHERE NOT EXISTS (SELECT 1 FROM export_snapshots s WHERE s.destination = ? AND s.email_key = m.email_key)`,
          )
          .get(destination) as { n: number }
      ).n;
      const missing = this.db
        .prepare(
          `DELETE FROM export_snapshots WHERE destination = ?
           AND email_key NOT IN (SELECT email_key FROM temp.list_members_seen)`,
        )
        .run(destination).changes;
      this.db.exec('DELETE FROM temp.list_members_seen');
      return { missing, notExportctls };
    })();
  }

  /** Contacts in the destination's last confirmed snapshot. */
  snapshotSize(destination: string): number {
    const row = this.db
      .prepare('SELECT count(*) AS size FROM export_snapshots WHERE destination = ?')
      .get(destination) as { size: number };
    return row.size;
  }

  /**
   * Stores one planned import call with the exact contacts it carries, taken from the staging by
   * `selection` inside SQLite: the request's import_data text and the batch's snapshot rows. Throws
   * when the selection does not hold `planned.contacts` contacts (the pass and the SQL disagree: a
   * bug), and then nothing is stored.
   */
  addImportBatch(
    runId: number,
    batch: number,
    planned: PlannedImportBatch,
    selection: StagedSelection,
  ): void {
    this.write(runId, () => {
      this.db
        .prepare(
          `INSERT INTO export_import_batches (run_id, batch, contacts, body_bytes, state)
           VALUES (?, ?, ?, ?, 'planned')`,
        )
        .run(runId, batch, planned.contacts, planned.bodyBytes);
      this.db
        .prepare(
          `INSERT INTO export_import_payloads (run_id, batch, import_data)
           SELECT ?, ?, CAST(group_concat(t.entry, ',' ORDER BY t.email_key) AS BLOB) ${selection.sql}`,
        )
        .run(runId, batch, ...selection.parameters);
      const rows = this.db
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

  /** The run's import batches, in order. */
  importBatches(runId: number): ImportBatchCheckpoint[] {
    const rows = this.db
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

  /** The `import_data` bytes of an import batch that is not confirmed yet. */
  importData(runId: number, batch: number): Buffer {
    const row = this.db
      .prepare('SELECT import_data FROM export_import_payloads WHERE run_id = ? AND batch = ?')
      .get(runId, batch) as { import_data: Buffer } | undefined;
    return row?.import_data ?? Buffer.alloc(0);
  }

  /** Before the import request leaves: from now on its activity may exist. */
  markImportSending(runId: number, batch: number, sentAt: number): void {
    this.setImportState(
      runId,
      batch,
      `state = 'sending', sent_at = ?, submissions = submissions + 1, activity_id = NULL, adopted = 0`,
      [sentAt],
    );
  }

  /**
   * The batch's request created `activityId`: answered with it, or (`adopted`) found among the
   * recent activities after the answer was lost. The activity is claimed for good, in the same
   * transaction: no other batch, of this run or a later one, may adopt it.
   */
  markImportSubmitted(runId: number, batch: number, activityId: string, how: { adopted: boolean }): void {
    this.write(runId, () => {
      this.db
        .prepare(
          `UPDATE export_import_batches SET state = 'submitted', activity_id = ?, adopted = ?
           WHERE run_id = ? AND batch = ?`,
        )
        .run(activityId, how.adopted ? 1 : 0, runId, batch);
      this.claimActivity(activityId);
    });
  }

  /** Back to be sent again: its request made no activity, or the activity failed. */
  markImportPlanned(runId: number, batch: number): void {
    this.setImportState(runId, batch, `state = 'planned', activity_id = NULL, adopted = 0`, []);
  }

  /**
   * The batch's activity completed: its contacts enter the snapshot with the fingerprints sent, and
   * the batch is confirmed, in one transaction, inside SQLite (the batch's rows never cross into
   * JavaScript). What it sent is deleted: it is not needed again.
   */
  confirmImport(
    runId: number,
    destination: string,
    batch: number,
    counters: ActivityCounters,
    errors: readonly string[],
  ): void {
    this.write(runId, () => {
      this.db
        .prepare(
          `INSERT INTO export_snapshots (destination, email_key, fingerprint, confirmed_run)
           SELECT ?, email_key, fingerprint, ? FROM export_import_rows WHERE run_id = ? AND batch = ?
           ORDER BY email_key
           ON CONFLICT (destination, email_key) DO UPDATE
           SET fingerprint = excluded.fingerprint, confirmed_run = excluded.confirmed_run`,
        )
        .run(destination, runId, runId, batch);
      this.db.prepare('DELETE FROM export_import_rows WHERE run_id = ? AND batch = ?').run(runId, batch);
      this.db.prepare('DELETE FROM export_import_payloads WHERE run_id = ? AND batch = ?').run(runId, batch);
      this.db
        .prepare(
          `UPDATE export_import_batches SET state = 'confirmed', counters = ?, errors = ?
           WHERE run_id = ? AND batch = ?`,
        )
        .run(JSON.stringify(counters), JSON.stringify(errors), runId, batch);
    });
  }

  /**
   * Every activity ID a run of this state was answered with or adopted, finished runs included
   * (kept `claimRetentionMs`, longer than Constant Contact keeps activities): never one to adopt for
   * another batch.
   */
  knownActivityIds(): Set<string> {
    const rows = this.db.prepare('SELECT activity_id FROM export_claimed_activities').all() as {
      activity_id: string;
    }[];
    return new Set(rows.map((row) => row.activity_id));
  }

  importTotals(runId: number): ImportTotals {
    const row = this.db
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

  /**
   * Records the removals: every snapshot member of `destination` that is not in `selectedTable`
   * (a table of the same connection with an `email_key` column). Resolves how many.
   */
  planRemovals(runId: number, destination: string, selectedTable: string): number {
    let planned = 0;
    this.write(runId, () => {
      planned = this.db
        .prepare(
          `INSERT INTO export_removals (run_id, email_key)
           SELECT ?, s.email_key FROM export_snapshots AS s
           WHERE s.destination = ?
             AND NOT EXISTS (SELECT 1 FROM ${selectedTable} AS t WHERE t.email_key = s.email_key)`,
        )
        .run(runId, destination).changes;
    });
    return planned;
  }

  /** Emails of the run's removals whose contact IDs are not looked up yet, in order. */
  removalEmails(runId: number): string[] {
    return (
      this.db
        .prepare('SELECT email_key FROM export_removals WHERE run_id = ? ORDER BY email_key')
        .all(runId) as { email_key: string }[]
    ).map((row) => row.email_key);
  }

  /**
   * Stores the lookup's result in one transaction: removals with a contact ID are cut into calls of
   * `perCall`; those without one are not on the list, so they leave the snapshot now.
   */
  planRemovalBatches(
    runId: number,
    destination: string,
    contactIds: ReadonlyMap<string, string>,
    perCall: number,
  ): void {
    const emails = this.removalEmails(runId);
    const assign = this.db.prepare(
      'UPDATE export_removals SET contact_id = ?, batch = ? WHERE run_id = ? AND email_key = ?',
    );
    const leave = this.db.prepare('DELETE FROM export_snapshots WHERE destination = ? AND email_key = ?');
    const addBatch = this.db.prepare(
      `INSERT INTO export_removal_batches (run_id, batch, contacts, state) VALUES (?, ?, ?, 'planned')`,
    );
    this.write(runId, () => {
      let batch = 0;
      let inBatch = 0;
      for (const email of emails) {
        const contactId = contactIds.get(email);
        if (contactId === undefined) {
          leave.run(destination, email);
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
      this.db
        .prepare(
          `UPDATE export_checkpoints SET removals_looked_up = 1, phase = 'removing', updated_at = ?
           WHERE run_id = ?`,
        )
        .run(this.now(), runId);
    });
  }

  removalBatches(runId: number): RemovalBatchCheckpoint[] {
    const rows = this.db
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

  removalContactIds(runId: number, batch: number): string[] {
    return (
      this.db
        .prepare('SELECT contact_id FROM export_removals WHERE run_id = ? AND batch = ? ORDER BY email_key')
        .all(runId, batch) as { contact_id: string }[]
    ).map((row) => row.contact_id);
  }

  markRemovalSubmitted(runId: number, batch: number, activityId: string): void {
    this.write(runId, () => {
      this.db
        .prepare(
          `UPDATE export_removal_batches SET state = 'submitted', activity_id = ?, submissions = submissions + 1 WHERE run_id = ? AND batch = ?`,
        )
        .run(activityId, runId, batch);
      this.claimActivity(activityId);
    });
  }

  markRemovalPlanned(runId: number, batch: number): void {
    this.write(runId, () => {
      this.db
        .prepare(
          `UPDATE export_removal_batches SET state = 'planned', activity_id = NULL WHERE run_id = ? AND batch = ?`,
        )
        .run(runId, batch);
    });
  }

  /** The removal activity completed: its contacts leave the snapshot, in the same transaction. */
  confirmRemoval(runId: number, destination: string, batch: number): void {
    this.write(runId, () => {
      this.db
        .prepare(
          `DELETE FROM export_snapshots WHERE destination = ? AND email_key IN
             (SELECT email_key FROM export_removals WHERE run_id = ? AND batch = ?)`,
        )
        .run(destination, runId, batch);
      this.db
        .prepare(`UPDATE export_removal_batches SET state = 'confirmed' WHERE run_id = ? AND batch = ?`)
        .run(runId, batch);
    });
  }

  removalTotals(runId: number): RemovalTotals {
    const row = this.db
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

  /**
   * Truncates the write-ahead log once a run is over: a million-contact run writes a few hundred MB
   * through it, and SQLite otherwise keeps the file at its largest size. Best effort: skipped while
   * another connection reads.
   */
  compact(): void {
    try {
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Busy or not in WAL mode (an in-memory state): nothing to reclaim.
    }
  }

  private setImportState(runId: number, batch: number, assignments: string, values: unknown[]): void {
    this.write(runId, () => {
      this.db
        .prepare(`UPDATE export_import_batches SET ${assignments} WHERE run_id = ? AND batch = ?`)
        .run(...values, runId, batch);
    });
  }

  /** Records `activityId` as a run's for good, and forgets claims older than any activity kept. */
  private claimActivity(activityId: string): void {
    const now = this.now();
    this.db
      .prepare('INSERT OR IGNORE INTO export_claimed_activities (activity_id, claimed_at) VALUES (?, ?)')
      .run(activityId, now);
    this.db.prepare('DELETE FROM export_claimed_activities WHERE claimed_at < ?').run(now - claimRetentionMs);
  }

  /** `work` in one IMMEDIATE transaction, refused when the run's checkpoint is gone. */
  private write(runId: number, work: () => void): void {
    this.db
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
        work();
      })
      .immediate();
  }
}

function toCheckpoint(row: CheckpointRow): Checkpoint {
  return {
    runId: row.run_id,
    destination: row.destination,
    listId: row.list_id,
    phase: row.phase,
    removalsLookedUp: row.removals_looked_up === 1,
  };
}
