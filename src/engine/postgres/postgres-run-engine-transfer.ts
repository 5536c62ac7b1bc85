import type pg from 'pg';
import {
  collectSnapshotRecords,
  type RunEngineContents,
  type RunEngineRecords,
  type RunEngineTransfer,
  snapshotRecordsOfBuckets,
} from '../run-engine-transfer';
import type { SnapshotBucketChanges } from '../snapshot-buckets';
import { applySnapshotChanges } from './postgres-snapshot-buckets';

/** Snapshot rows written to a state, by destination, until its `finish`. */
const pendingSnapshots = new WeakMap<pg.ClientBase, Map<string, SnapshotBucketChanges>>();

/**
 * {@link RunEngineTransfer} on the run engine's tables of a PostgreSQL state, inside the
 * transaction the state's half opened: keyset pages to read, one unnest INSERT per chunk to write
 * (snapshots: collected, and written at `finish`, each bucket once).
 */
export const postgresRunEngineTransfer: RunEngineTransfer<pg.ClientBase> = {
  async contents(client): Promise<RunEngineContents> {
    const { rows } = await client.query<{ n: string; d: string; issues: string }>(
      `SELECT (SELECT coalesce(sum(members), 0) FROM export_snapshot_buckets) AS n,
              (SELECT count(DISTINCT destination) FROM export_snapshot_buckets) AS d,
              (SELECT count(*) FROM export_row_issue_runs) AS issues`,
    );
    const counts = rows[0] as { n: string; d: string; issues: string };
    const checkpoints = await client.query<{ run_id: string; destination: string; phase: string }>(
      'SELECT run_id, destination, phase FROM export_checkpoints ORDER BY run_id',
    );
    return {
      snapshotRows: Number(counts.n),
      snapshotDestinations: Number(counts.d),
      rowIssueRuns: Number(counts.issues),
      checkpoints: checkpoints.rows.map((row) => ({
        runId: Number(row.run_id),
        destination: row.destination,
        phase: row.phase,
      })),
    };
  },

  async *read(client, chunkSize): AsyncIterable<RunEngineRecords> {
    async function* buckets(): AsyncGenerator<[string, Buffer]> {
      let after: [string, number] = ['', -1];
      for (;;) {
        const { rows } = await client.query<[string, number, Buffer]>({
          text: `SELECT destination, bucket, data FROM export_snapshot_buckets
                 WHERE (destination, bucket) > ($1, $2) ORDER BY destination, bucket LIMIT 64`,
          values: after,
          rowMode: 'array',
        });
        for (const [destination, bucket, data] of rows) {
          yield [destination, data];
          after = [destination, bucket];
        }
        if (rows.length === 0) return;
      }
    }
    yield* snapshotRecordsOfBuckets(buckets(), chunkSize);
    const all = async <R extends pg.QueryResultRow>(sql: string) => (await client.query<R>(sql)).rows;
    yield {
      kind: 'revisions',
      rows: (
        await all<{ destination: string; revision: string }>(
          'SELECT destination, revision FROM export_snapshot_revisions',
        )
      ).map((row) => ({ destination: row.destination, revision: Number(row.revision) })),
    };
    yield {
      kind: 'unchanged-marks',
      rows: (
        await all<{ destination: string; mark: string; revision: string }>(
          'SELECT destination, mark, revision FROM export_unchanged_marks',
        )
      ).map((row) => ({ ...row, revision: Number(row.revision) })),
    };
    yield {
      kind: 'list-baselines',
      rows: (
        await all<{ destination: string; list_id: string; membership_count: number; observed_at: string }>(
          'SELECT destination, list_id, membership_count, observed_at FROM export_list_baselines',
        )
      ).map((row) => ({
        destination: row.destination,
        listId: row.list_id,
        membershipCount: row.membership_count,
        observedAt: Number(row.observed_at),
      })),
    };
    yield {
      kind: 'claimed-activities',
      rows: (
        await all<{ activity_id: string; claimed_at: string }>(
          'SELECT activity_id, claimed_at FROM export_claimed_activities',
        )
      ).map((row) => ({ activityId: row.activity_id, claimedAt: Number(row.claimed_at) })),
    };
    yield {
      kind: 'row-issue-runs',
      rows: (
        await all<{ run_id: string; destination: string; issues: string }>(
          'SELECT run_id, destination, issues FROM export_row_issue_runs ORDER BY run_id',
        )
      ).map((row) => ({
        runId: Number(row.run_id),
        destination: row.destination,
        issues: Number(row.issues),
      })),
    };
    let issuesAfter: [number, number] = [-1, -1];
    for (;;) {
      const { rows } = await client.query<{
        run_id: string;
        first_seq: string;
        issues: number;
        lines: Buffer;
      }>(
        `SELECT run_id, first_seq, issues, lines FROM export_row_issues
         WHERE (run_id, first_seq) > ($1, $2) ORDER BY run_id, first_seq LIMIT 20`,
        issuesAfter,
      );
      const last = rows.at(-1);
      if (last === undefined) break;
      yield {
        kind: 'row-issues',
        rows: rows.map((row) => ({
          runId: Number(row.run_id),
          firstSeq: Number(row.first_seq),
          issues: row.issues,
          lines: row.lines,
        })),
      };
      issuesAfter = [Number(last.run_id), Number(last.first_seq)];
    }
  },

  async clear(client) {
    await client.query(`
      DELETE FROM export_run_chunks;
      DELETE FROM export_run_unstaged;
      DELETE FROM export_checkpoints;
      DELETE FROM export_snapshot_buckets;
      DELETE FROM export_snapshot_revisions;
      DELETE FROM export_unchanged_marks;
      DELETE FROM export_list_baselines;
      DELETE FROM export_claimed_activities;
      DELETE FROM export_row_issue_runs;
    `);
  },

  async write(client, records) {
    if (records.rows.length === 0) return;
    switch (records.kind) {
      case 'snapshots': {
        const pending = pendingSnapshots.get(client) ?? new Map<string, SnapshotBucketChanges>();
        pendingSnapshots.set(client, pending);
        collectSnapshotRecords(pending, records.rows);
        return;
      }
      case 'revisions': {
        const r = records.rows;
        await client.query(
          `INSERT INTO export_snapshot_revisions (destination, revision)
           SELECT * FROM unnest($1::text[], $2::bigint[])`,
          [r.map((x) => x.destination), r.map((x) => x.revision)],
        );
        return;
      }
      case 'unchanged-marks': {
        const r = records.rows;
        await client.query(
          `INSERT INTO export_unchanged_marks (destination, mark, revision)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])`,
          [r.map((x) => x.destination), r.map((x) => x.mark), r.map((x) => x.revision)],
        );
        return;
      }
      case 'list-baselines': {
        const r = records.rows;
        await client.query(
          `INSERT INTO export_list_baselines (destination, list_id, membership_count, observed_at)
           SELECT * FROM unnest($1::text[], $2::text[], $3::int[], $4::bigint[])`,
          [
            r.map((x) => x.destination),
            r.map((x) => x.listId),
            r.map((x) => x.membershipCount),
            r.map((x) => x.observedAt),
          ],
        );
        return;
      }
      case 'claimed-activities': {
        const r = records.rows;
        await client.query(
          `INSERT INTO export_claimed_activities (activity_id, claimed_at)
           SELECT * FROM unnest($1::text[], $2::bigint[])`,
          [r.map((x) => x.activityId), r.map((x) => x.claimedAt)],
        );
        return;
      }
      case 'row-issue-runs': {
        const r = records.rows;
        await client.query(
          `INSERT INTO export_row_issue_runs (run_id, destination, issues)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])`,
          [r.map((x) => x.runId), r.map((x) => x.destination), r.map((x) => x.issues)],
        );
        return;
      }
      case 'row-issues': {
        const r = records.rows;
        await client.query(
          `INSERT INTO export_row_issues (run_id, first_seq, issues, lines)
           SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::bytea[])`,
          [
            r.map((x) => x.runId),
            r.map((x) => x.firstSeq),
            r.map((x) => x.issues),
            r.map((x) => Buffer.from(x.lines)),
          ],
        );
        return;
      }
    }
  },

  async finish(client) {
    const pending = pendingSnapshots.get(client);
    pendingSnapshots.delete(client);
    for (const changes of pending?.values() ?? []) await applySnapshotChanges(client, changes);
    // Revisions come from a sequence here: the next one is above every copied revision and mark.
    await client.query(
      `SELECT setval('export_snapshot_revision', greatest(
         (SELECT coalesce(max(revision), 0) FROM export_snapshot_revisions),
         (SELECT coalesce(max(revision), 0) FROM export_unchanged_marks),
         (SELECT last_value FROM export_snapshot_revision)) + 1, false)`,
    );
  },
};
