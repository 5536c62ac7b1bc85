import type { ActivityCounters } from '../../constant-contact';
import type {
  ImportBatchCheckpoint,
  ImportBatchState,
  ImportBatchStore,
  ImportTotals,
  PlannedImportBatch,
  StagedContact,
  UnplannedContact,
} from '../run-store';
import { fingerprintHalves } from '../snapshot-fingerprint';
import type { SqliteRunContext } from './sqlite-run-context';
import { SnapshotBucketChanges } from './sqlite-snapshot-buckets';

/** Staged contacts inserted per statement (6 values each; SQLite allows 32,766). */
const stagedPerStatement = 100;

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

/** Staged contacts per page of `unplanned`. */
const unplannedPage = 20_000;

/**
 * A run's staged contacts in `export_run_contacts` (each written once), its import batches in
 * `export_import_batches` (a batch is a range of the staged contacts' `seq`), confirmed by marking.
 * Batches planned by the previous version (no `first_seq`) carry their body in
 * `export_import_payloads` and their snapshot rows in `export_import_rows`.
 */
export class SqliteImportBatches implements ImportBatchStore {
  constructor(private readonly context: SqliteRunContext) {}

  async stage(runId: number, contacts: readonly StagedContact[]): Promise<void> {
    if (contacts.length === 0) return;
    const { db } = this.context;
    // The halves joined into SQLite's signed 64-bit INTEGER inside SQLite: no BigInt per contact.
    const row = '(?, ?, ?, (? << 32) | ?, ?)';
    const insert = 'INSERT INTO export_run_contacts (run_id, seq, email_key, fingerprint, entry) VALUES ';
    const one = db.prepare(insert + row);
    // Rows by the hundred per statement: a call per row was a quarter of the insert's CPU.
    const many = db.prepare(insert + Array(stagedPerStatement).fill(row).join(', '));
    const values: unknown[] = new Array(6 * stagedPerStatement);
    this.context.writeUnsynced(runId, () => {
      let at = 0;
      for (; at + stagedPerStatement <= contacts.length; at += stagedPerStatement) {
        for (let index = 0; index < stagedPerStatement; index++) {
          const contact = contacts[at + index] as StagedContact;
          const base = 6 * index;
          values[base] = runId;
          values[base + 1] = contact.seq;
          values[base + 2] = contact.emailKey;
          values[base + 3] = contact.fingerprint[0];
          values[base + 4] = contact.fingerprint[1];
          values[base + 5] = contact.entry;
        }
        many.run(values);
      }
      for (const contact of contacts.slice(at))
        one.run(
          runId,
          contact.seq,
          contact.emailKey,
          contact.fingerprint[0],
          contact.fingerprint[1],
          contact.entry,
        );
    });
  }

  async unstage(runId: number, seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    const remove = this.context.db.prepare('DELETE FROM export_run_contacts WHERE run_id = ? AND seq = ?');
    this.context.writeUnsynced(runId, () => {
      for (const seq of seqs) remove.run(runId, seq);
    });
  }

  async plan(runId: number, batch: number, planned: PlannedImportBatch): Promise<void> {
    const { db } = this.context;
    this.context.writeUnsynced(runId, () => {
      const staged = (
        db
          .prepare('SELECT count(*) AS n FROM export_run_contacts WHERE run_id = ? AND seq BETWEEN ? AND ?')
          .get(runId, planned.firstSeq, planned.lastSeq) as { n: number }
      ).n;
      if (staged !== planned.contacts) {
        throw new Error(
          `import batch ${batch} of run ${runId}: the plan counted ${planned.contacts} contacts from #${planned.firstSeq} to #${planned.lastSeq}, the staging holds ${staged}`,
        );
      }
      db.prepare(
        `INSERT INTO export_import_batches (run_id, batch, contacts, body_bytes, state, first_seq, last_seq)
         VALUES (?, ?, ?, ?, 'planned', ?, ?)`,
      ).run(runId, batch, planned.contacts, planned.bodyBytes, planned.firstSeq, planned.lastSeq);
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

  async *unplanned(runId: number): AsyncGenerator<readonly UnplannedContact[]> {
    const { db } = this.context;
    const last = db
      .prepare(
        `SELECT max(last_seq) AS seq, count(*) FILTER (WHERE last_seq IS NULL) AS legacy
         FROM export_import_batches WHERE run_id = ?`,
      )
      .get(runId) as { seq: number | null; legacy: number };
    // A run of the previous version planned all its batches before sending, with their bodies.
    if (last.legacy > 0) return;
    const page = db.prepare(
      `SELECT seq, length(CAST(entry AS BLOB)) AS bytes FROM export_run_contacts
       WHERE run_id = ? AND seq > ? ORDER BY seq LIMIT ?`,
    );
    let after = last.seq ?? -1;
    for (;;) {
      const rows = page.raw().all(runId, after, unplannedPage) as [number, number][];
      if (rows.length === 0) return;
      after = (rows[rows.length - 1] as [number, number])[0];
      yield rows;
      if (rows.length < unplannedPage) return;
    }
  }

  async data(runId: number, batch: number): Promise<Buffer> {
    const { db } = this.context;
    const range = this.range(runId, batch);
    if (range === undefined) {
      const row = db
        .prepare('SELECT import_data FROM export_import_payloads WHERE run_id = ? AND batch = ?')
        .get(runId, batch) as { import_data: Buffer } | undefined;
      return row?.import_data ?? Buffer.alloc(0);
    }
    // The entries in `seq` order from a subquery the primary key already orders (fed to the
    // aggregate in that order): an ORDER BY inside group_concat sorts them again, three times the
    // CPU of the read.
    const row = db
      .prepare(
        `SELECT CAST(group_concat(entry, ',') AS BLOB) AS import_data FROM
           (SELECT entry FROM export_run_contacts WHERE run_id = ? AND seq BETWEEN ? AND ? ORDER BY seq)`,
      )
      .get(runId, range[0], range[1]) as { import_data: Buffer | null };
    return row.import_data ?? Buffer.alloc(0);
  }

  /** A batch's range of staged contacts; undefined for a batch of the previous version. */
  range(runId: number, batch: number): [number, number] | undefined {
    const row = this.context.db
      .prepare('SELECT first_seq, last_seq FROM export_import_batches WHERE run_id = ? AND batch = ?')
      .get(runId, batch) as { first_seq: number | null; last_seq: number | null } | undefined;
    return row?.first_seq == null || row.last_seq == null ? undefined : [row.first_seq, row.last_seq];
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
      if (this.range(runId, batch) === undefined) this.confirmLegacy(runId, destination, batch);
      db.prepare(
        `UPDATE export_import_batches SET state = 'confirmed', counters = ?, errors = ?
         WHERE run_id = ? AND batch = ?`,
      ).run(JSON.stringify(counters), JSON.stringify(errors), runId, batch);
    });
  }

  /**
   * Folds the run's confirmed batches into the destination's snapshot (inside the caller's
   * transaction): their contacts in `seq` order (within an email, the later one is applied last,
   * as batch order would), each bucket of the snapshot rewritten once.
   */
  foldConfirmed(runId: number, destination: string): void {
    const { db } = this.context;
    const ranges = db
      .prepare(
        `SELECT first_seq, last_seq FROM export_import_batches
         WHERE run_id = ? AND state = 'confirmed' AND first_seq IS NOT NULL ORDER BY first_seq`,
      )
      .raw()
      .all(runId) as [number, number][];
    const changes = new SnapshotBucketChanges(destination);
    const contacts = db
      .prepare(
        `SELECT email_key, (fingerprint >> 32) & 4294967295, fingerprint & 4294967295 FROM export_run_contacts
         WHERE run_id = ? AND seq BETWEEN ? AND ? ORDER BY seq`,
      )
      .raw();
    // A batch's contacts at once: stepping a statement row by row costs twice as much.
    for (const [first, last] of ranges) {
      for (const [emailKey, hi, lo] of contacts.all(runId, first, last) as [string, number, number][])
        changes.put(emailKey, hi, lo, runId);
    }
    if (changes.apply(db) > 0) this.context.bumpRevision(destination);
  }

  /**
   * Deletes the run's staged contacts (its checkpoint is ending). When no other run has contacts
   * staged, the table is emptied whole, which SQLite does by freeing its pages instead of
   * rewriting each of them into the log (a million-contact run wrote its staging a second time
   * just to delete it). SQLite only does that with foreign keys off (with them on it deletes row by
   * row), so they are off for that one transaction: nothing refers to a staged contact, and the
   * checkpoint they hang from is deleted after, with them on again. Inside another transaction
   * (foreign keys cannot change there) the rows are deleted one by one.
   */
  dropStaged(runId: number): void {
    const { db } = this.context;
    const whole = !db.inTransaction;
    const keysOff = whole && Number(db.pragma('foreign_keys', { simple: true })) === 1;
    if (keysOff) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        const others =
          db.prepare('SELECT 1 FROM export_run_contacts WHERE run_id < ? LIMIT 1').get(runId) ??
          db.prepare('SELECT 1 FROM export_run_contacts WHERE run_id > ? LIMIT 1').get(runId);
        if (others === undefined && whole) db.prepare('DELETE FROM export_run_contacts').run();
        else db.prepare('DELETE FROM export_run_contacts WHERE run_id = ?').run(runId);
      }).immediate();
    } finally {
      if (keysOff) db.pragma('foreign_keys = ON');
    }
  }

  /**
   * The contacts of the run's batches that were sent but not confirmed enter the snapshot with the
   * unconfirmed fingerprint (0). Resolves how many.
   */
  keepUnconfirmed(runId: number, destination: string): number {
    const { db } = this.context;
    const batches = db
      .prepare(
        `SELECT first_seq, last_seq FROM export_import_batches
         WHERE run_id = ? AND state <> 'confirmed' AND submissions > 0 ORDER BY batch`,
      )
      .all(runId) as { first_seq: number | null; last_seq: number | null }[];
    const changes = new SnapshotBucketChanges(destination);
    const contacts = db
      .prepare('SELECT email_key FROM export_run_contacts WHERE run_id = ? AND seq BETWEEN ? AND ?')
      .pluck();
    for (const batch of batches) {
      if (batch.first_seq === null || batch.last_seq === null) continue;
      for (const emailKey of contacts.iterate(
        runId,
        batch.first_seq,
        batch.last_seq,
      ) as IterableIterator<string>)
        changes.unconfirm(emailKey, runId);
    }
    // Batches of the previous version.
    const legacy = db
      .prepare(
        `SELECT r.email_key FROM export_import_rows r
         JOIN export_import_batches b ON b.run_id = r.run_id AND b.batch = r.batch
         WHERE r.run_id = ? AND b.state <> 'confirmed' AND b.submissions > 0`,
      )
      .pluck()
      .all(runId) as string[];
    for (const emailKey of legacy) changes.unconfirm(emailKey, runId);
    const kept = changes.apply(db);
    if (kept > 0) this.context.bumpRevision(destination);
    return kept;
  }

  /** A batch of the previous version: its rows enter the snapshot now, and what it sent is deleted. */
  private confirmLegacy(runId: number, destination: string, batch: number): void {
    const { db } = this.context;
    const rows = db
      .prepare('SELECT email_key, fingerprint FROM export_import_rows WHERE run_id = ? AND batch = ?')
      .all(runId, batch) as { email_key: string; fingerprint: string }[];
    const changes = new SnapshotBucketChanges(destination);
    for (const row of rows) {
      const [hi, lo] = fingerprintHalves(row.fingerprint);
      changes.put(row.email_key, hi, lo, runId);
    }
    if (changes.apply(db) > 0) this.context.bumpRevision(destination);
    db.prepare('DELETE FROM export_import_rows WHERE run_id = ? AND batch = ?').run(runId, batch);
    db.prepare('DELETE FROM export_import_payloads WHERE run_id = ? AND batch = ?').run(runId, batch);
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
