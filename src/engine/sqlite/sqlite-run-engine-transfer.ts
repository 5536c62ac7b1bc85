import {
  type CheckpointedRun,
  collectSnapshotRecords,
  type RunEngineContents,
  type RunEngineRecords,
  type RunEngineTransfer,
  snapshotRecordsOfBuckets,
} from '../run-engine-transfer';
import type { SnapshotBucketChanges } from '../snapshot-buckets';
import type { SqliteDatabase } from './sqlite-run-context';
import { applySnapshotChanges } from './sqlite-snapshot-buckets';

/** Snapshot rows written to a state, by destination, until its `finish`. */
const pendingSnapshots = new WeakMap<SqliteDatabase, Map<string, SnapshotBucketChanges>>();

/**
 * {@link RunEngineTransfer} on the run engine's tables of a SQLite state, inside the transaction
 * the state's half opened. Fingerprints cross as BigInt (64 bits do not fit a number).
 */
export const sqliteRunEngineTransfer: RunEngineTransfer<SqliteDatabase> = {
  async contents(db): Promise<RunEngineContents> {
    const snapshots = db
      .prepare(
        'SELECT coalesce(sum(members), 0) AS n, count(DISTINCT destination) AS d FROM export_snapshot_buckets',
      )
      .get() as { n: number; d: number };
    const issues = db.prepare('SELECT count(*) AS n FROM export_row_issue_runs').get() as { n: number };
    const checkpoints = db
      .prepare('SELECT run_id AS runId, destination, phase FROM export_checkpoints ORDER BY run_id')
      .all() as CheckpointedRun[];
    return {
      snapshotRows: snapshots.n,
      snapshotDestinations: snapshots.d,
      rowIssueRuns: issues.n,
      checkpoints,
    };
  },

  async *read(db, chunkSize): AsyncIterable<RunEngineRecords> {
    // 64 buckets at a time (better-sqlite3 runs no statement while another one iterates).
    const bucketPage = db
      .prepare(
        `SELECT destination, bucket, data FROM export_snapshot_buckets
         WHERE (destination, bucket) > (?, ?) ORDER BY destination, bucket LIMIT 64`,
      )
      .raw();
    async function* buckets(): AsyncGenerator<[string, Buffer]> {
      let after: [string, number] = ['', -1];
      for (;;) {
        const page = bucketPage.all(...after) as [string, number, Buffer][];
        for (const [destination, bucket, data] of page) {
          yield [destination, data];
          after = [destination, bucket];
        }
        if (page.length === 0) return;
      }
    }
    yield* snapshotRecordsOfBuckets(buckets(), chunkSize);
    // The other tables hold a few rows per destination or per run: one chunk each, but row issues,
    // whose chunks are up to a few hundred kB each.
    yield {
      kind: 'revisions',
      rows: db.prepare('SELECT destination, revision FROM export_snapshot_revisions').all() as {
        destination: string;
        revision: number;
      }[],
    };
    yield {
      kind: 'unchanged-marks',
      rows: db.prepare('SELECT destination, mark, revision FROM export_unchanged_marks').all() as {
        destination: string;
        mark: string;
        revision: number;
      }[],
    };
    yield {
      kind: 'list-baselines',
      rows: db
        .prepare(
          `SELECT destination, list_id AS listId, membership_count AS membershipCount, observed_at AS observedAt
           FROM export_list_baselines`,
        )
        .all() as { destination: string; listId: string; membershipCount: number; observedAt: number }[],
    };
    yield {
      kind: 'claimed-activities',
      rows: db
        .prepare('SELECT activity_id AS activityId, claimed_at AS claimedAt FROM export_claimed_activities')
        .all() as { activityId: string; claimedAt: number }[],
    };
    yield {
      kind: 'row-issue-runs',
      rows: db
        .prepare('SELECT run_id AS runId, destination, issues FROM export_row_issue_runs ORDER BY run_id')
        .all() as { runId: number; destination: string; issues: number }[],
    };
    const issuePage = db.prepare(
      `SELECT run_id AS runId, first_seq AS firstSeq, issues, lines FROM export_row_issues
       WHERE (run_id, first_seq) > (?, ?) ORDER BY run_id, first_seq LIMIT 20`,
    );
    let issuesAfter: [number, number] = [-1, -1];
    for (;;) {
      const rows = issuePage.all(...issuesAfter) as {
        runId: number;
        firstSeq: number;
        issues: number;
        lines: Uint8Array;
      }[];
      const last = rows.at(-1);
      if (last === undefined) break;
      yield { kind: 'row-issues', rows };
      issuesAfter = [last.runId, last.firstSeq];
    }
  },

  async clear(db) {
    db.exec(`
      DELETE FROM export_checkpoints;
      DELETE FROM export_snapshot_buckets;
      DELETE FROM export_snapshot_revisions;
      DELETE FROM export_unchanged_marks;
      DELETE FROM export_list_baselines;
      DELETE FROM export_claimed_activities;
      DELETE FROM export_row_issues;
      DELETE FROM export_row_issue_runs;
    `);
  },

  async write(db, records) {
    const insertAll = <R>(sql: string, rows: readonly R[], values: (row: R) => unknown[]) => {
      const insert = db.prepare(sql);
      for (const row of rows) insert.run(...values(row));
    };
    switch (records.kind) {
      case 'snapshots': {
        // Collected, and written at `finish`: each bucket once, however the rows were chunked.
        const pending = pendingSnapshots.get(db) ?? new Map<string, SnapshotBucketChanges>();
        pendingSnapshots.set(db, pending);
        collectSnapshotRecords(pending, records.rows);
        return;
      }
      case 'revisions':
        return insertAll(
          'INSERT INTO export_snapshot_revisions (destination, revision) VALUES (?, ?)',
          records.rows,
          (r) => [r.destination, r.revision],
        );
      case 'unchanged-marks':
        return insertAll(
          'INSERT INTO export_unchanged_marks (destination, mark, revision) VALUES (?, ?, ?)',
          records.rows,
          (r) => [r.destination, r.mark, r.revision],
        );
      case 'list-baselines':
        return insertAll(
          `INSERT INTO export_list_baselines (destination, list_id, membership_count, observed_at)
           VALUES (?, ?, ?, ?)`,
          records.rows,
          (r) => [r.destination, r.listId, r.membershipCount, r.observedAt],
        );
      case 'claimed-activities':
        return insertAll(
          'INSERT INTO export_claimed_activities (activity_id, claimed_at) VALUES (?, ?)',
          records.rows,
          (r) => [r.activityId, r.claimedAt],
        );
      case 'row-issue-runs':
        return insertAll(
          'INSERT INTO export_row_issue_runs (run_id, destination, issues) VALUES (?, ?, ?)',
          records.rows,
          (r) => [r.runId, r.destination, r.issues],
        );
      case 'row-issues':
        return insertAll(
          'INSERT INTO export_row_issues (run_id, first_seq, issues, lines) VALUES (?, ?, ?, ?)',
          records.rows,
          (r) => [r.runId, r.firstSeq, r.issues, Buffer.from(r.lines)],
        );
    }
  },

  // A SQLite state's next revision is one above the largest it holds: nothing to move. The
  // snapshots collected are written.
  async finish(db) {
    const pending = pendingSnapshots.get(db);
    pendingSnapshots.delete(db);
    for (const changes of pending?.values() ?? []) applySnapshotChanges(db, changes);
  },
};
