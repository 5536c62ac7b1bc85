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
import { SnapshotBucketChanges } from '../snapshot-buckets';
import { fingerprintHalves } from '../snapshot-fingerprint';
import {
  appendUnplanned,
  type ChunkKeys,
  contactsPerChunk,
  encodeStagedChunks,
  forEachStagedIn,
  stagedBody,
} from '../staged-chunks';
import type { SqliteRunContext } from './sqlite-run-context';
import { applySnapshotChanges } from './sqlite-snapshot-buckets';

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

/** A chunk as the queries give it: its first `seq` and its keys. */
type ChunkRow = [firstSeq: number, keys: Buffer];

/**
 * A run's staged contacts in `export_run_chunks` (each written once, in chunks: see
 * `staged-chunks.ts`), those that lost the dedupe after they were staged in
 * `export_run_unstaged`, its import batches in `export_import_batches` (a batch is a range of the
 * staged contacts' `seq`), confirmed by marking. Batches planned by an older version (no
 * `first_seq`) carry their body in `export_import_payloads` and their snapshot rows in
 * `export_import_rows`.
 */
export class SqliteImportBatches implements ImportBatchStore {
  constructor(private readonly context: SqliteRunContext) {}

  async stage(runId: number, contacts: readonly StagedContact[]): Promise<void> {
    if (contacts.length === 0) return;
    // Packed and deflated before the transaction: the lock is held for the inserts alone.
    const chunks = encodeStagedChunks(contacts);
    const insert = this.context.db.prepare(
      'INSERT INTO export_run_chunks (run_id, first_seq, last_seq, keys, entries) VALUES (?, ?, ?, ?, ?)',
    );
    this.context.writeUnsynced(runId, () => {
      for (const chunk of chunks) insert.run(runId, chunk.firstSeq, chunk.lastSeq, chunk.keys, chunk.entries);
    });
  }

  async unstage(runId: number, seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    const drop = this.context.db.prepare(
      'INSERT OR IGNORE INTO export_run_unstaged (run_id, seq) VALUES (?, ?)',
    );
    this.context.writeUnsynced(runId, () => {
      for (const seq of seqs) drop.run(runId, seq);
    });
  }

  async plan(runId: number, batch: number, planned: PlannedImportBatch): Promise<void> {
    const { db } = this.context;
    this.context.writeUnsynced(runId, () => {
      const staged = this.stagedIn(runId, planned.firstSeq, planned.lastSeq);
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

  /** Staged contacts of the run from `first` to `last` (`seq`), those unstaged left out. */
  private stagedIn(runId: number, first: number, last: number): number {
    // A chunk holds at most `contactsPerChunk` consecutive seqs: one that reaches `first` starts
    // after `first - contactsPerChunk`, which bounds the index range.
    return this.context.db
      .prepare(
        `SELECT coalesce((SELECT sum(min(last_seq, @last) - max(first_seq, @first) + 1) FROM export_run_chunks
                          WHERE run_id = @run AND first_seq BETWEEN @first - ${contactsPerChunk - 1} AND @last
                            AND last_seq >= @first), 0)
              - (SELECT count(*) FROM export_run_unstaged WHERE run_id = @run AND seq BETWEEN @first AND @last)`,
      )
      .pluck()
      .get({ run: runId, first, last }) as number;
  }

  /** The chunks holding some of the run's contacts from `first` to `last`, in `seq` order. */
  private chunksIn(runId: number, first: number, last: number): ChunkRow[] {
    return this.context.db
      .prepare(
        `SELECT first_seq, keys FROM export_run_chunks
         WHERE run_id = ? AND first_seq BETWEEN ? AND ? AND last_seq >= ? ORDER BY first_seq`,
      )
      .raw()
      .all(runId, first - (contactsPerChunk - 1), last, first) as ChunkRow[];
  }

  /** The deflated entries of the chunk of the run that starts at `firstSeq`. */
  private chunkEntries(runId: number, firstSeq: number): Buffer {
    return this.context.db
      .prepare('SELECT entries FROM export_run_chunks WHERE run_id = ? AND first_seq = ?')
      .pluck()
      .get(runId, firstSeq) as Buffer;
  }

  /** The run's unstaged `seq`s from `first` to `last`. */
  private unstagedIn(runId: number, first: number, last: number): Set<number> {
    return new Set(
      this.context.db
        .prepare('SELECT seq FROM export_run_unstaged WHERE run_id = ? AND seq BETWEEN ? AND ?')
        .pluck()
        .all(runId, first, last) as number[],
    );
  }

  /** `forEachStagedIn` of the run's chunks from `first` to `last`. */
  private forEachStaged(
    runId: number,
    first: number,
    last: number,
    each: (keys: ChunkKeys, index: number) => void,
  ): void {
    forEachStagedIn(
      this.chunksIn(runId, first, last),
      this.unstagedIn(runId, first, last),
      first,
      last,
      each,
    );
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
    // A run of an older version planned all its batches before sending, with their bodies.
    if (last.legacy > 0) return;
    const after = last.seq ?? -1;
    const unstaged = this.unstagedIn(runId, after + 1, Number.MAX_SAFE_INTEGER);
    const chunks = db
      .prepare(
        `SELECT first_seq, keys FROM export_run_chunks
         WHERE run_id = ? AND first_seq > ? AND last_seq > ? ORDER BY first_seq LIMIT 8`,
      )
      .raw();
    // Chunks a few at a time, each whole: other calls may run between pages.
    let page: [number, number][] = [];
    let chunkAfter = -1;
    for (;;) {
      const rows = chunks.all(runId, chunkAfter, after) as ChunkRow[];
      for (const [firstSeq, blob] of rows) {
        appendUnplanned(page, firstSeq, blob, after, unstaged);
        chunkAfter = firstSeq;
        if (page.length >= unplannedPage) {
          yield page;
          page = [];
        }
      }
      if (rows.length < 8) break;
    }
    if (page.length > 0) yield page;
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
    const [first, last] = range;
    const chunks = this.chunksIn(runId, first, last).map(
      ([firstSeq, keys]) => [firstSeq, keys, this.chunkEntries(runId, firstSeq)] as const,
    );
    return stagedBody(chunks, this.unstagedIn(runId, first, last), first, last);
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
    const changes = new SnapshotBucketChanges(destination);
    for (const [first, last] of this.confirmedRanges(runId))
      this.forEachStaged(runId, first, last, (keys, index) =>
        changes.putBytes(
          keys.bytes,
          keys.keyStart(index),
          keys.keyEnd(index),
          keys.hi(index),
          keys.lo(index),
          runId,
        ),
      );
    if (applySnapshotChanges(db, changes) > 0) this.context.bumpRevision(destination);
  }

  /** The emails of the run's confirmed batches (each once). */
  confirmedEmails(runId: number): Set<string> {
    const emails = new Set<string>();
    for (const [first, last] of this.confirmedRanges(runId))
      this.forEachStaged(runId, first, last, (keys, index) => emails.add(keys.emailKey(index)));
    return emails;
  }

  /** The ranges of the run's confirmed batches, in `seq` order. */
  private confirmedRanges(runId: number): [number, number][] {
    return this.context.db
      .prepare(
        `SELECT first_seq, last_seq FROM export_import_batches
         WHERE run_id = ? AND state = 'confirmed' AND first_seq IS NOT NULL ORDER BY first_seq`,
      )
      .raw()
      .all(runId) as [number, number][];
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
          db.prepare('SELECT 1 FROM export_run_chunks WHERE run_id < ? LIMIT 1').get(runId) ??
          db.prepare('SELECT 1 FROM export_run_chunks WHERE run_id > ? LIMIT 1').get(runId);
        if (others === undefined && whole) db.prepare('DELETE FROM export_run_chunks').run();
        else db.prepare('DELETE FROM export_run_chunks WHERE run_id = ?').run(runId);
        db.prepare('DELETE FROM export_run_unstaged WHERE run_id = ?').run(runId);
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
    for (const batch of batches) {
      if (batch.first_seq === null || batch.last_seq === null) continue;
      this.forEachStaged(runId, batch.first_seq, batch.last_seq, (keys, index) =>
        changes.unconfirm(keys.emailKey(index), runId),
      );
    }
    // Batches of an older version.
    const legacy = db
      .prepare(
        `SELECT r.email_key FROM export_import_rows r
         JOIN export_import_batches b ON b.run_id = r.run_id AND b.batch = r.batch
         WHERE r.run_id = ? AND b.state <> 'confirmed' AND b.submissions > 0`,
      )
      .pluck()
      .all(runId) as string[];
    for (const emailKey of legacy) changes.unconfirm(emailKey, runId);
    const kept = applySnapshotChanges(db, changes);
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
    if (applySnapshotChanges(db, changes) > 0) this.context.bumpRevision(destination);
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
