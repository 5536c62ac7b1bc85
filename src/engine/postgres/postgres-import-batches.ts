import type pg from 'pg';
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
import type { PostgresRunContext } from './postgres-run-context';
import { copyStagedContacts } from './staged-contacts-copy';

/** Staged contacts per page of `unplanned`. */
const unplannedPage = 20_000;

interface ImportBatchRow {
  batch: number;
  contacts: number;
  body_bytes: number;
  state: ImportBatchState;
  submissions: number;
  sent_at: number | null;
  activity_id: string | null;
  adopted: boolean;
}

/**
 * The contacts of a run's import batches that match `condition` (on the batch `b`), each email once
 * (the latest staged wins), as `email_key, fingerprint, run_id` in email order: what enters the
 * snapshot in one set-based statement.
 */
const batchContacts = (condition: string) => `
  SELECT DISTINCT ON (r.email_key) r.email_key, r.fingerprint, r.run_id
  FROM export_import_batches b
  JOIN export_run_contacts r ON r.run_id = b.run_id AND r.seq BETWEEN b.first_seq AND b.last_seq
  WHERE b.run_id = $1 AND ${condition}
  ORDER BY r.email_key, r.seq DESC`;

/**
 * A run's staged contacts in `export_run_contacts` (each written once, by COPY), its import batches
 * in `export_import_batches` (a batch is a range of the staged contacts' `seq`), confirmed by
 * marking and folded into the snapshot's rows batch by batch while the run goes on (what is left,
 * by one statement when the run ends).
 */
export class PostgresImportBatches implements ImportBatchStore {
  /** Per run, the fold under way behind `confirm`, and whether more batches were confirmed since. */
  private readonly folding = new Map<number, { again: boolean; done?: Promise<void> }>();
  /** The runs whose folds met a contact already in the snapshot: they upsert from then on. */
  private readonly upserting = new Set<number>();

  constructor(private readonly context: PostgresRunContext) {}

  /**
   * Stages by binary COPY, committed without waiting for the server's disk (`synchronous_commit`
   * off for this transaction alone): staging happens while the checkpoint is `planning`, and a run
   * that died planning is started over, or, if it sent batches while it read, has those settled and
   * reads again: of its staging only its batches' contacts are used then. The commit that stores a
   * batch (`plan`), like the one that moves the checkpoint to `importing`, waits for the disk as
   * every other does, and with it for every staging write before it (the WAL is flushed in order).
   * So a server crash loses nothing a resume relies on, and the read does not wait for a flush per
   * 20,000 contacts.
   */
  async stage(runId: number, contacts: readonly StagedContact[]): Promise<void> {
    if (contacts.length === 0) return;
    await this.context.write(runId, async (client) => {
      await client.query('SET LOCAL synchronous_commit = off');
      await copyStagedContacts(client, runId, contacts);
    });
  }

  /** As `stage`, the commit not waited for (the checkpoint is still `planning`). */
  async unstage(runId: number, seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.context.write(runId, async (client) => {
      await client.query('SET LOCAL synchronous_commit = off');
      await client.query('DELETE FROM export_run_contacts WHERE run_id = $1 AND seq = ANY($2::int[])', [
        runId,
        seqs,
      ]);
    });
  }

  async plan(runId: number, batch: number, planned: PlannedImportBatch): Promise<void> {
    await this.context.write(runId, async (client) => {
      const counted = await client.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM export_run_contacts WHERE run_id = $1 AND seq BETWEEN $2 AND $3',
        [runId, planned.firstSeq, planned.lastSeq],
      );
      const staged = counted.rows[0]?.n ?? 0;
      if (staged !== planned.contacts) {
        throw new Error(
          `import batch ${batch} of run ${runId}: the plan counted ${planned.contacts} contacts from #${planned.firstSeq} to #${planned.lastSeq}, the staging holds ${staged}`,
        );
      }
      await client.query(
        `INSERT INTO export_import_batches (run_id, batch, contacts, body_bytes, state, first_seq, last_seq)
         VALUES ($1, $2, $3, $4, 'planned', $5, $6)`,
        [runId, batch, planned.contacts, planned.bodyBytes, planned.firstSeq, planned.lastSeq],
      );
    });
  }

  async batches(runId: number): Promise<ImportBatchCheckpoint[]> {
    const { rows } = await this.context.query<ImportBatchRow>(
      `SELECT batch, contacts, body_bytes::float8 AS body_bytes, state, submissions, sent_at::float8 AS sent_at,
              activity_id, adopted
       FROM export_import_batches WHERE run_id = $1 ORDER BY batch`,
      [runId],
    );
    return rows.map((row) => ({
      batch: row.batch,
      contacts: row.contacts,
      bodyBytes: row.body_bytes,
      state: row.state,
      submissions: row.submissions,
      sentAt: row.sent_at ?? undefined,
      activityId: row.activity_id ?? undefined,
      adopted: row.adopted,
    }));
  }

  async *unplanned(runId: number): AsyncGenerator<readonly UnplannedContact[]> {
    // Every batch of a PostgreSQL state is a range of seq (it has no older version's batches).
    const { rows } = await this.context.query<{ seq: number | null }>(
      'SELECT max(last_seq) AS seq FROM export_import_batches WHERE run_id = $1',
      [runId],
    );
    let after = rows[0]?.seq ?? -1;
    for (;;) {
      const page = await this.context.queryArrays<[number, number]>(
        `SELECT seq, octet_length(entry) FROM export_run_contacts
         WHERE run_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
        [runId, after, unplannedPage],
      );
      if (page.rows.length === 0) return;
      after = (page.rows[page.rows.length - 1] as [number, number])[0];
      yield page.rows;
      if (page.rows.length < unplannedPage) return;
    }
  }

  async data(runId: number, batch: number): Promise<Buffer> {
    // One query: the batch's range and its entries in seq order, joined by the server.
    const { rows } = await this.context.query<{ import_data: string | null }>(
      `SELECT string_agg(r.entry, ',' ORDER BY r.seq) AS import_data
       FROM export_import_batches b
       JOIN export_run_contacts r ON r.run_id = b.run_id AND r.seq BETWEEN b.first_seq AND b.last_seq
       WHERE b.run_id = $1 AND b.batch = $2`,
      [runId, batch],
    );
    const text = rows[0]?.import_data;
    return text == null ? Buffer.alloc(0) : Buffer.from(text, 'utf8');
  }

  async markSending(runId: number, batch: number, sentAt: number): Promise<void> {
    await this.setState(
      runId,
      batch,
      `state = 'sending', sent_at = $3, submissions = submissions + 1, activity_id = NULL, adopted = false`,
      [sentAt],
    );
  }

  async markSubmitted(
    runId: number,
    batch: number,
    activityId: string,
    how: { adopted: boolean },
  ): Promise<void> {
    await this.context.write(runId, async (client) => {
      await client.query(
        `UPDATE export_import_batches SET state = 'submitted', activity_id = $3, adopted = $4
         WHERE run_id = $1 AND batch = $2`,
        [runId, batch, activityId, how.adopted],
      );
      await this.context.claimActivity(client, activityId);
    });
  }

  async markPlanned(runId: number, batch: number): Promise<void> {
    await this.setState(runId, batch, `state = 'planned', activity_id = NULL, adopted = false`, []);
  }

  /**
   * Marks the batch confirmed (from then on it is part of the snapshot: `snapshots.size` counts its
   * contacts), then has its contacts folded into the snapshot's rows behind the caller's back (see
   * `foldBehind`).
   */
  async confirm(
    runId: number,
    destination: string,
    batch: number,
    counters: ActivityCounters,
    errors: readonly string[],
  ): Promise<void> {
    await this.setState(runId, batch, `state = 'confirmed', counters = $3, errors = $4`, [
      JSON.stringify(counters),
      JSON.stringify(errors),
    ]);
    this.foldBehind(runId, destination);
  }

  /** Resolves once the folds `confirm` started for the run are done (or given up). */
  async foldsDone(runId: number): Promise<void> {
    await this.folding.get(runId)?.done;
  }

  /**
   * Folds the run's confirmed batches into the snapshot's rows (`foldConfirmed`) in a transaction of
   * its own, without holding up the caller: the run's sender goes on sending while the server
   * writes. One fold at a time per run; the batches confirmed while one runs are folded together by
   * the next, so the folds keep up with the confirmations however slow the server's disk (and the
   * fewer folds, the fewer times each page of the snapshot's index is written). Measured on a
   * million contacts (the run bench, fsync on): folded in one statement at the run's end, they held
   * the run there for 7.7 s; folded in confirm's own transaction, on the sender's path, they held
   * each request behind a 0.4 s write (the import phase took 15 s for 8.8); folded behind one batch
   * at a time, they ended 4.4 s after the last confirmation. A fold that fails (the connection lost
   * past the retries, the destination deleted) changes nothing: its batches stay unfolded, and the
   * run's end folds them, or reports the failure.
   */
  private foldBehind(runId: number, destination: string): void {
    const running = this.folding.get(runId);
    if (running !== undefined) {
      running.again = true;
      return;
    }
    const fold: { again: boolean; done?: Promise<void> } = { again: false };
    this.folding.set(runId, fold);
    fold.done = (async () => {
      do {
        fold.again = false;
        await this.context.write(runId, (client) => this.foldConfirmed(client, runId, destination));
      } while (fold.again);
    })()
      .catch(() => undefined)
      .finally(() => {
        this.folding.delete(runId);
      });
  }

  /**
   * Folds the run's confirmed batches not folded yet into the destination's snapshot (inside the
   * caller's transaction) and marks them folded: each contact's row written once, with the
   * fingerprint sent. The batches are marked first and folded by number, so a batch confirmed
   * between the two statements (READ COMMITTED) is neither marked nor folded, and stays for later.
   */
  async foldConfirmed(client: pg.ClientBase, runId: number, destination: string): Promise<void> {
    const marked = await client.query<{ batch: number }>(
      `UPDATE export_import_batches SET folded = true
       WHERE run_id = $1 AND state = 'confirmed' AND NOT folded RETURNING batch`,
      [runId],
    );
    if (marked.rows.length === 0) return;
    const values = [runId, destination, marked.rows.map((row) => row.batch)];
    const insert = `INSERT INTO export_snapshots (destination, email_key, fingerprint, confirmed_run)
       SELECT $2, email_key, fingerprint, run_id FROM (${batchContacts('b.batch = ANY($3::int[])')}) confirmed`;
    let folded: pg.QueryResult | undefined;
    if (!this.upserting.has(runId)) {
      // New contacts only (a first run, the adds of any): a plain insert, a third cheaper than the
      // upsert's speculative insertion (a million folded: 5.9 s for 9.3 s). The first contact already
      // in the snapshot makes it fail at once: back to before it, and upserts for the rest of the run.
      await client.query('SAVEPOINT fold_plain');
      try {
        folded = await client.query(insert, values);
        await client.query('RELEASE SAVEPOINT fold_plain');
      } catch (error) {
        if ((error as { code?: unknown }).code !== '23505') throw error;
        await client.query('ROLLBACK TO SAVEPOINT fold_plain');
        this.upserting.add(runId);
      }
    }
    folded ??= await client.query(
      `${insert}
       ON CONFLICT (destination, email_key) DO UPDATE
       SET fingerprint = excluded.fingerprint, confirmed_run = excluded.confirmed_run`,
      values,
    );
    if ((folded.rowCount ?? 0) > 0) await this.context.bumpRevision(client, destination);
  }

  /**
   * Drops the run's staged contacts (inside the caller's transaction, the run's checkpoint locked).
   * When no other run has staged contacts and no other session uses the table, by TRUNCATE: a
   * million rows gone at once and their space given back, where a DELETE writes each row's
   * deletion to the WAL (seconds, hundreds of MB). Otherwise (another destination's run staged
   * contacts, or reads them right now) by DELETE, without waiting for any lock of the table.
   */
  async dropStaged(client: pg.ClientBase, runId: number): Promise<void> {
    this.upserting.delete(runId);
    await client.query('SAVEPOINT drop_staged');
    try {
      await client.query('LOCK TABLE export_run_contacts IN ACCESS EXCLUSIVE MODE NOWAIT');
      // Staged contacts belong to a checkpoint (no foreign key says so, for its cost per row: the
      // two ways a checkpoint goes drop its staged contacts; see `run-engine-4-…`): asked run by
      // run of the other checkpoints (a few), each an equality on the primary key's first column.
      // Asked of the staging as a whole (`run_id <> $1`), the planner, with no statistics of a
      // table just filled, scanned a million rows (0.16 s).
      const others = await client.query<{ others: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM export_checkpoints c WHERE c.run_id <> $1
           AND EXISTS (SELECT 1 FROM export_run_contacts r WHERE r.run_id = c.run_id)) AS others`,
        [runId],
      );
      if (others.rows[0]?.others === false) {
        await client.query('TRUNCATE export_run_contacts');
        await client.query('RELEASE SAVEPOINT drop_staged');
        return;
      }
    } catch (error) {
      if ((error as { code?: unknown }).code !== '55P03') throw error;
    }
    // Back to before the lock (released): other runs go on while the rows are deleted.
    await client.query('ROLLBACK TO SAVEPOINT drop_staged');
    await client.query('DELETE FROM export_run_contacts WHERE run_id = $1', [runId]);
  }

  /**
   * The contacts of the run's batches that were sent but not confirmed enter the snapshot with the
   * unconfirmed fingerprint (0), in the caller's transaction. Resolves how many.
   */
  async keepUnconfirmed(client: pg.ClientBase, runId: number, destination: string): Promise<number> {
    const kept = await client.query(
      `INSERT INTO export_snapshots (destination, email_key, fingerprint, confirmed_run)
       SELECT $2, email_key, 0, run_id
       FROM (${batchContacts(`b.state <> 'confirmed' AND b.submissions > 0`)}) sent
       ON CONFLICT (destination, email_key) DO UPDATE SET fingerprint = 0`,
      [runId, destination],
    );
    const count = kept.rowCount ?? 0;
    if (count > 0) await this.context.bumpRevision(client, destination);
    return count;
  }

  async totals(runId: number): Promise<ImportTotals> {
    const { rows } = await this.context.query<{
      batches: number;
      confirmed_batches: number;
      planned: number;
      imported: number;
      unsubscribed: number;
      rejected: number;
    }>(
      `SELECT count(*)::int AS batches,
              (count(*) FILTER (WHERE state = 'confirmed'))::int AS confirmed_batches,
              coalesce(sum(contacts), 0)::float8 AS planned,
              coalesce(sum(contacts) FILTER (WHERE state = 'confirmed'), 0)::float8 AS imported,
              coalesce(sum((counters ->> 'cannot_add_to_list_count')::bigint), 0)::float8 AS unsubscribed,
              coalesce(sum((counters ->> 'error_count')::bigint), 0)::float8 AS rejected
       FROM export_import_batches WHERE run_id = $1`,
      [runId],
    );
    const row = rows[0];
    return {
      batches: row?.batches ?? 0,
      confirmedBatches: row?.confirmed_batches ?? 0,
      plannedContacts: row?.planned ?? 0,
      imported: row?.imported ?? 0,
      unsubscribed: row?.unsubscribed ?? 0,
      rejected: row?.rejected ?? 0,
    };
  }

  /** `assignments` of the batch's row ($1 run, $2 batch, then `values`), as a write of the run. */
  private async setState(
    runId: number,
    batch: number,
    assignments: string,
    values: unknown[],
  ): Promise<void> {
    await this.context.write(runId, (client) =>
      client.query(`UPDATE export_import_batches SET ${assignments} WHERE run_id = $1 AND batch = $2`, [
        runId,
        batch,
        ...values,
      ]),
    );
  }
}
