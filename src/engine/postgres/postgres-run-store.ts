import type pg from 'pg';
import type { ConnectionFaultRetryOptions } from '../../net';
import type {
  ActivityClaimStore,
  Checkpoint,
  CheckpointPhase,
  CheckpointStore,
  ListBaselineStore,
  PackedSnapshotMembers,
  RowIssueStore,
  RunStore,
  SnapshotMember,
  SnapshotStore,
  UnchangedMarkStore,
} from '../run-store';
import {
  decodeSnapshotBucket,
  emailsByBucket,
  heldInBucket,
  SnapshotBucketChanges,
  SnapshotBucketView,
  snapshotMembersOf,
} from '../snapshot-buckets';
import { PostgresImportBatches } from './postgres-import-batches';
import { PostgresRemovalBatches } from './postgres-removal-batches';
import { PostgresRowIssues } from './postgres-row-issues';
import { type PostgresLocationForMessages, PostgresRunContext } from './postgres-run-context';
import { applySnapshotChanges } from './postgres-snapshot-buckets';

/** What a PostgreSQL run store is built from. */
export interface PostgresRunStoreOptions {
  /** The state's pool: its connections are on the state's schema (search_path), migrated. */
  readonly pool: pg.Pool;
  /** The clock for the rows' times (epoch ms). */
  readonly now: () => number;
  /**
   * How work is retried when its connection breaks (the state's own: `PostgresStateStore.faultRetry`);
   * default 60 s of retries.
   */
  readonly faultRetry?: ConnectionFaultRetryOptions;
  /** Where the state is, for the message of a connection that stayed lost. */
  readonly location?: PostgresLocationForMessages;
}

interface CheckpointRow {
  run_id: string;
  destination: string;
  list_id: string;
  phase: CheckpointPhase;
  removals_looked_up: boolean;
}

/**
 * The run store in a PostgreSQL state (the tables of `runEnginePostgresMigrations`), for the
 * wiring to build from an opened PostgreSQL state. Each method is one query or one short
 * transaction, correct under READ COMMITTED with other processes (other hosts) running other
 * destinations; a destination's runs are kept apart by its run lock, which the engine holds.
 * Staged contacts and snapshots are packed as in the SQLite state (chunks of up to 5,000 contacts,
 * buckets of a destination's members: `staged-chunks.ts`, `snapshot-buckets.ts`), written by binary
 * COPY: a million contacts are a few thousand rows for the server, not a million.
 */
export class PostgresRunStore implements RunStore {
  readonly checkpoints: CheckpointStore;
  readonly listBaselines: ListBaselineStore;
  readonly snapshots: SnapshotStore;
  readonly imports: PostgresImportBatches;
  readonly removals: PostgresRemovalBatches;
  readonly claims: ActivityClaimStore;
  readonly unchangedMarks: UnchangedMarkStore;
  readonly rowIssues: RowIssueStore;

  constructor(options: PostgresRunStoreOptions) {
    const context = new PostgresRunContext(
      options.pool,
      options.now,
      options.location,
      options.faultRetry ?? {},
    );
    this.imports = new PostgresImportBatches(context);
    this.checkpoints = new PostgresCheckpoints(context, this.imports);
    this.listBaselines = new PostgresListBaselines(context);
    this.snapshots = new PostgresSnapshots(context, this.imports);
    this.removals = new PostgresRemovalBatches(context);
    this.unchangedMarks = new PostgresUnchangedMarks(context);
    this.rowIssues = new PostgresRowIssues(context);
    this.claims = {
      async known() {
        const { rows } = await context.query<{ activity_id: string }>(
          'SELECT activity_id FROM export_claimed_activities',
        );
        return new Set(rows.map((row) => row.activity_id));
      },
    };
  }

  /**
   * Nothing to do: PostgreSQL's autovacuum reclaims a finished run's dead rows (a VACUUM here would
   * hold the caller for seconds and compete with other processes' runs).
   */
  async compact(): Promise<void> {}
}

class PostgresCheckpoints implements CheckpointStore {
  constructor(
    private readonly context: PostgresRunContext,
    private readonly imports: PostgresImportBatches,
  ) {}

  async of(destination: string): Promise<Checkpoint | undefined> {
    const { rows } = await this.context.query<CheckpointRow>(
      `SELECT run_id::text AS run_id, destination, list_id, phase, removals_looked_up
       FROM export_checkpoints WHERE destination = $1`,
      [destination],
    );
    const row = rows[0];
    return row === undefined
      ? undefined
      : {
          runId: Number(row.run_id),
          destination: row.destination,
          listId: row.list_id,
          phase: row.phase,
          removalsLookedUp: row.removals_looked_up,
        };
  }

  async create(runId: number, destination: string, listId: string): Promise<void> {
    const now = this.context.now();
    await this.context.query(
      `INSERT INTO export_checkpoints (run_id, destination, list_id, phase, created_at, updated_at)
       VALUES ($1, $2, $3, 'planning', $4, $4)`,
      [runId, destination, listId, now],
    );
  }

  async delete(runId: number): Promise<void> {
    await this.context.transaction(async (client) => {
      // Locked first: a trigger deleting it (the destination deleted meanwhile) waits for the fold,
      // then drops the snapshot it made.
      const { rows } = await client.query<{ destination: string }>(
        'SELECT destination FROM export_checkpoints WHERE run_id = $1 FOR UPDATE',
        [runId],
      );
      const destination = rows[0]?.destination;
      if (destination === undefined) return;
      await this.imports.foldConfirmed(client, runId, destination);
      await this.imports.dropStaged(client, runId);
      await client.query('DELETE FROM export_checkpoints WHERE run_id = $1', [runId]);
    });
  }

  async setPhase(runId: number, phase: CheckpointPhase): Promise<void> {
    await this.context.write(runId, (client) =>
      client.query('UPDATE export_checkpoints SET phase = $2, updated_at = $3 WHERE run_id = $1', [
        runId,
        phase,
        this.context.now(),
      ]),
    );
  }

  async keepUnconfirmedSends(runId: number, destination: string): Promise<number> {
    return this.context.transaction(async (client) => {
      // Held against a concurrent deletion of the checkpoint (and with it the staged contacts).
      await client.query('SELECT 1 FROM export_checkpoints WHERE run_id = $1 FOR KEY SHARE', [runId]);
      return this.imports.keepUnconfirmed(client, runId, destination);
    });
  }
}

class PostgresListBaselines implements ListBaselineStore {
  constructor(private readonly context: PostgresRunContext) {}

  async get(destination: string, listId: string): Promise<number | undefined> {
    const { rows } = await this.context.query<{ membership_count: number }>(
      'SELECT membership_count FROM export_list_baselines WHERE destination = $1 AND list_id = $2',
      [destination, listId],
    );
    return rows[0]?.membership_count;
  }

  async set(destination: string, listId: string, membershipCount: number): Promise<void> {
    await this.context.query(
      `INSERT INTO export_list_baselines (destination, list_id, membership_count, observed_at)
       VALUES ($1, $2, $3, $4)
       ON CONFLICT (destination) DO UPDATE SET list_id = excluded.list_id,
         membership_count = excluded.membership_count, observed_at = excluded.observed_at`,
      [destination, listId, membershipCount, this.context.now()],
    );
  }

  async drop(destination: string): Promise<void> {
    await this.context.query('DELETE FROM export_list_baselines WHERE destination = $1', [destination]);
  }
}

class PostgresSnapshots implements SnapshotStore {
  constructor(
    private readonly context: PostgresRunContext,
    private readonly imports: PostgresImportBatches,
  ) {}

  async size(destination: string): Promise<number> {
    return this.context.transaction(async (client) => {
      const { rows } = await client.query<{ members: number; run_id: string | null }>(
        `SELECT (SELECT coalesce(sum(members), 0) FROM export_snapshot_buckets WHERE destination = $1)::float8
                  AS members,
                (SELECT run_id FROM export_checkpoints WHERE destination = $1) AS run_id`,
        [destination],
      );
      const members = rows[0]?.members ?? 0;
      const runId = rows[0]?.run_id;
      // The new contacts of an unfinished run's confirmed batches (not folded yet) count too.
      if (runId == null) return members;
      const confirmed = await this.imports.confirmedEmails(client, Number(runId));
      if (confirmed.size === 0) return members;
      const byBucket = emailsByBucket(confirmed);
      const stored = await client.query<[number, Buffer]>({
        text: 'SELECT bucket, data FROM export_snapshot_buckets WHERE destination = $1 AND bucket = ANY($2::int[])',
        values: [destination, [...byBucket.keys()]],
        rowMode: 'array',
      });
      let inSnapshot = 0;
      for (const [bucket, data] of stored.rows) inSnapshot += heldInBucket(data, byBucket.get(bucket) ?? []);
      return members + confirmed.size - inSnapshot;
    });
  }

  members(destination: string, pageSize = 10_000): AsyncGenerator<readonly SnapshotMember[]> {
    return snapshotMembersOf(this.packedMembers(destination), pageSize);
  }

  async *packedMembers(destination: string): AsyncGenerator<PackedSnapshotMembers> {
    // A bucket per page, read 64 at a time, each read one query.
    let after = -1;
    for (;;) {
      const { rows } = await this.context.queryArrays<[number, Buffer]>(
        `SELECT bucket, data FROM export_snapshot_buckets WHERE destination = $1 AND bucket > $2
         ORDER BY bucket LIMIT 64`,
        [destination, after],
      );
      for (const [bucket, data] of rows) {
        after = bucket;
        yield new SnapshotBucketView(data);
      }
      if (rows.length < 64) return;
    }
  }

  async reconcileWithList(
    destination: string,
    emailKeys: readonly string[],
  ): Promise<{ readonly missing: number; readonly notExportctls: number }> {
    return this.context.transaction(async (client) => {
      const onList = new Set(emailKeys);
      const changes = new SnapshotBucketChanges(destination);
      let found = 0;
      const { rows } = await client.query<[Buffer]>({
        text: 'SELECT data FROM export_snapshot_buckets WHERE destination = $1',
        values: [destination],
        rowMode: 'array',
      });
      for (const [data] of rows) {
        for (const key of decodeSnapshotBucket(data).keys) {
          if (onList.has(key)) found += 1;
          else changes.remove(key);
        }
      }
      const missing = await applySnapshotChanges(client, changes);
      if (missing > 0) await this.context.bumpRevision(client, destination);
      return { missing, notExportctls: onList.size - found };
    });
  }

  async translate(changes: SnapshotBucketChanges): Promise<number> {
    return this.context.transaction(async (client) => {
      const translated = await applySnapshotChanges(client, changes);
      if (translated > 0) await this.context.bumpRevision(client, changes.destination);
      return translated;
    });
  }
}

class PostgresUnchangedMarks implements UnchangedMarkStore {
  constructor(private readonly context: PostgresRunContext) {}

  async matches(destination: string, mark: string): Promise<boolean> {
    const { rows } = await this.context.query<{ same: boolean }>(
      `SELECT m.mark = $2 AND m.revision =
         coalesce((SELECT revision FROM export_snapshot_revisions WHERE destination = $1), 0) AS same
       FROM export_unchanged_marks m WHERE m.destination = $1`,
      [destination, mark],
    );
    return rows[0]?.same === true;
  }

  async set(destination: string, mark: string): Promise<void> {
    await this.context.query(
      `INSERT INTO export_unchanged_marks (destination, mark, revision)
       VALUES ($1, $2, coalesce((SELECT revision FROM export_snapshot_revisions WHERE destination = $1), 0))
       ON CONFLICT (destination) DO UPDATE SET mark = excluded.mark, revision = excluded.revision`,
      [destination, mark],
    );
  }

  async drop(destination: string): Promise<void> {
    await this.context.query('DELETE FROM export_unchanged_marks WHERE destination = $1', [destination]);
  }
}
