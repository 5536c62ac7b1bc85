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
import { SnapshotBucketChanges } from '../snapshot-buckets';
import {
  appendUnplanned,
  type ChunkKeys,
  contactsPerChunk,
  type EncodedChunk,
  encodeStagedChunks,
  forEachStagedIn,
  stagedBody,
} from '../staged-chunks';
import { copyBinary } from './binary-copy';
import type { PostgresRunContext } from './postgres-run-context';
import { applySnapshotChanges } from './postgres-snapshot-buckets';

/** Staged contacts per page of `unplanned`. */
const unplannedPage = 20_000;

/**
 * The chunks of run $1 holding some of the contacts from $2 to $3 (`seq`): one that reaches $2
 * starts after $2 - `contactsPerChunk`, which bounds the primary key's range.
 */
const chunksInRange = `FROM export_run_chunks
  WHERE run_id = $1 AND first_seq BETWEEN $2 - ${contactsPerChunk - 1} AND $3 AND last_seq >= $2`;

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
 * A run's staged contacts in `export_run_chunks`, in chunks of consecutive `seq`s written once (see
 * `staged-chunks.ts`: the SQLite store's format), those that lost the dedupe after they were staged
 * in `export_run_unstaged`, its import batches in `export_import_batches` (a batch is a range of
 * the staged contacts' `seq`), confirmed by marking. The confirmed batches' contacts enter the
 * snapshot's buckets when the run ends (`foldConfirmed`), each bucket rewritten once.
 */
export class PostgresImportBatches implements ImportBatchStore {
  constructor(private readonly context: PostgresRunContext) {}

  /**
   * Stages in chunks by one binary COPY, committed without waiting for the server's disk
   * (`synchronous_commit` off for this transaction alone): staging happens while the checkpoint is
   * `planning`, and a run that died planning is started over, or, if it sent batches while it read,
   * has those settled and reads again: of its staging only its batches' contacts are used then. The
   * commit that stores a batch (`plan`), like the one that moves the checkpoint to `importing`,
   * waits for the disk as every other does, and with it for every staging write before it (the WAL
   * is flushed in order). So a server crash loses nothing a resume relies on, and the read does not
   * wait for a flush per 20,000 contacts.
   */
  async stage(runId: number, contacts: readonly StagedContact[]): Promise<void> {
    if (contacts.length === 0) return;
    // Packed and deflated before the transaction: the checkpoint is held for the COPY alone.
    const chunks = encodeStagedChunks(contacts);
    await this.context.write(runId, async (client) => {
      await client.query('SET LOCAL synchronous_commit = off');
      await copyChunks(client, runId, chunks);
    });
  }

  /** As `stage`, the commit not waited for (the checkpoint is still `planning`). */
  async unstage(runId: number, seqs: readonly number[]): Promise<void> {
    if (seqs.length === 0) return;
    await this.context.write(runId, async (client) => {
      await client.query('SET LOCAL synchronous_commit = off');
      await client.query(
        'INSERT INTO export_run_unstaged (run_id, seq) SELECT $1, unnest($2::int[]) ON CONFLICT DO NOTHING',
        [runId, seqs],
      );
    });
  }

  async plan(runId: number, batch: number, planned: PlannedImportBatch): Promise<void> {
    await this.context.write(runId, async (client) => {
      const counted = await client.query<{ n: number }>(
        `SELECT (coalesce((SELECT sum(least(last_seq, $3) - greatest(first_seq, $2) + 1) ${chunksInRange}), 0)
                - (SELECT count(*) FROM export_run_unstaged WHERE run_id = $1 AND seq BETWEEN $2 AND $3))::int AS n`,
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
    const after = rows[0]?.seq ?? -1;
    const unstagedRows = await this.context.queryArrays<[number]>(
      'SELECT seq FROM export_run_unstaged WHERE run_id = $1 AND seq > $2',
      [runId, after],
    );
    const unstaged = new Set(unstagedRows.rows.map((row) => row[0]));
    // Chunks a few at a time, each whole: other calls may run between pages.
    let page: [number, number][] = [];
    let chunkAfter = -1;
    for (;;) {
      const chunks = await this.context.queryArrays<[number, Buffer]>(
        `SELECT first_seq, keys FROM export_run_chunks
         WHERE run_id = $1 AND first_seq > $2 AND last_seq > $3 ORDER BY first_seq LIMIT 8`,
        [runId, chunkAfter, after],
      );
      for (const [firstSeq, blob] of chunks.rows) {
        appendUnplanned(page, firstSeq, blob, after, unstaged);
        chunkAfter = firstSeq;
        if (page.length >= unplannedPage) {
          yield page;
          page = [];
        }
      }
      if (chunks.rows.length < 8) break;
    }
    if (page.length > 0) yield page;
  }

  async data(runId: number, batch: number): Promise<Buffer> {
    return this.context.transaction(async (client) => {
      const range = await client.query<{ first_seq: number; last_seq: number }>(
        'SELECT first_seq, last_seq FROM export_import_batches WHERE run_id = $1 AND batch = $2',
        [runId, batch],
      );
      const row = range.rows[0];
      if (row === undefined) return Buffer.alloc(0);
      const { first_seq: first, last_seq: last } = row;
      const chunks = await client.query<[number, Buffer, Buffer]>({
        text: `SELECT first_seq, keys, entries ${chunksInRange} ORDER BY first_seq`,
        values: [runId, first, last],
        rowMode: 'array',
      });
      return stagedBody(chunks.rows, await this.unstagedIn(client, runId, first, last), first, last);
    });
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

  /** Marks the batch confirmed: from then on its contacts count as the snapshot's (`confirmedEmails`). */
  async confirm(
    runId: number,
    _destination: string,
    batch: number,
    counters: ActivityCounters,
    errors: readonly string[],
  ): Promise<void> {
    await this.setState(runId, batch, `state = 'confirmed', counters = $3, errors = $4`, [
      JSON.stringify(counters),
      JSON.stringify(errors),
    ]);
  }

  /**
   * Folds the run's confirmed batches into the destination's snapshot (inside the caller's
   * transaction, the checkpoint locked): their contacts in `seq` order (within an email, the later
   * one is applied last, as batch order would), each bucket of the snapshot rewritten once. A batch
   * an older version folded already (`folded`) is applied again, to the same effect.
   */
  async foldConfirmed(client: pg.ClientBase, runId: number, destination: string): Promise<void> {
    const changes = new SnapshotBucketChanges(destination);
    await this.forEachConfirmed(client, runId, (keys, index) =>
      changes.putBytes(
        keys.bytes,
        keys.keyStart(index),
        keys.keyEnd(index),
        keys.hi(index),
        keys.lo(index),
        runId,
      ),
    );
    if ((await applySnapshotChanges(client, changes)) > 0)
      await this.context.bumpRevision(client, destination);
  }

  /** The emails of the run's confirmed batches (each once). */
  async confirmedEmails(client: pg.ClientBase, runId: number): Promise<Set<string>> {
    const emails = new Set<string>();
    await this.forEachConfirmed(client, runId, (keys, index) => emails.add(keys.emailKey(index)));
    return emails;
  }

  /** `forEachStagedIn` of each of the run's confirmed batches, in `seq` order. */
  private async forEachConfirmed(
    client: pg.ClientBase,
    runId: number,
    each: (keys: ChunkKeys, index: number) => void,
  ): Promise<void> {
    const ranges = await client.query<[number, number]>({
      text: `SELECT first_seq, last_seq FROM export_import_batches
             WHERE run_id = $1 AND state = 'confirmed' ORDER BY first_seq`,
      values: [runId],
      rowMode: 'array',
    });
    await this.forEachIn(client, runId, ranges.rows, each);
  }

  /** `forEachStagedIn` of each of `ranges` of the run's staging, in the order given. */
  private async forEachIn(
    client: pg.ClientBase,
    runId: number,
    ranges: readonly [first: number, last: number][],
    each: (keys: ChunkKeys, index: number) => void,
  ): Promise<void> {
    for (const [first, last] of ranges) {
      const chunks = await client.query<[number, Buffer]>({
        text: `SELECT first_seq, keys ${chunksInRange} ORDER BY first_seq`,
        values: [runId, first, last],
        rowMode: 'array',
      });
      forEachStagedIn(chunks.rows, await this.unstagedIn(client, runId, first, last), first, last, each);
    }
  }

  /** The run's unstaged `seq`s from `first` to `last`. */
  private async unstagedIn(
    client: pg.ClientBase,
    runId: number,
    first: number,
    last: number,
  ): Promise<Set<number>> {
    const { rows } = await client.query<[number]>({
      text: 'SELECT seq FROM export_run_unstaged WHERE run_id = $1 AND seq BETWEEN $2 AND $3',
      values: [runId, first, last],
      rowMode: 'array',
    });
    return new Set(rows.map((row) => row[0]));
  }

  /**
   * Drops the run's staged contacts (inside the caller's transaction, the run's checkpoint locked):
   * a few hundred chunks at a million contacts.
   */
  async dropStaged(client: pg.ClientBase, runId: number): Promise<void> {
    await client.query('DELETE FROM export_run_chunks WHERE run_id = $1', [runId]);
    await client.query('DELETE FROM export_run_unstaged WHERE run_id = $1', [runId]);
  }

  /**
   * The contacts of the run's batches that were sent but not confirmed enter the snapshot with the
   * unconfirmed fingerprint (0), in the caller's transaction. Resolves how many.
   */
  async keepUnconfirmed(client: pg.ClientBase, runId: number, destination: string): Promise<number> {
    const ranges = await client.query<[number, number]>({
      text: `SELECT first_seq, last_seq FROM export_import_batches
             WHERE run_id = $1 AND state <> 'confirmed' AND submissions > 0 ORDER BY batch`,
      values: [runId],
      rowMode: 'array',
    });
    const changes = new SnapshotBucketChanges(destination);
    await this.forEachIn(client, runId, ranges.rows, (keys, index) =>
      changes.unconfirm(keys.emailKey(index), runId),
    );
    const count = await applySnapshotChanges(client, changes);
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

/** Writes `chunks` of run `runId` into `export_run_chunks` by one binary COPY (in the caller's transaction). */
export async function copyChunks(
  client: pg.ClientBase,
  runId: number,
  chunks: readonly EncodedChunk[],
): Promise<void> {
  await copyBinary(
    client,
    'COPY export_run_chunks (run_id, first_seq, last_seq, keys, entries)',
    chunks.map((chunk) => [
      { int8: runId },
      { int4: chunk.firstSeq },
      { int4: chunk.lastSeq },
      { bytea: chunk.keys },
      { bytea: chunk.entries },
    ]),
  );
}
