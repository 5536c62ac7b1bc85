import type pg from 'pg';
import type { ConnectionFaultRetryOptions } from '../../net';
import type {
  ActivityClaimStore,
  Checkpoint,
  CheckpointPhase,
  CheckpointStore,
  ListBaselineStore,
  RowIssueStore,
  RunStore,
  SnapshotMember,
  SnapshotStore,
  UnchangedMarkStore,
} from '../run-store';
import { PostgresImportBatches } from './postgres-import-batches';
import { PostgresRemovalBatches } from './postgres-removal-batches';
import { PostgresRowIssues } from './postgres-row-issues';
import { type PostgresLocationForMessages, PostgresRunContext } from './postgres-run-context';

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
 * Contacts are staged by binary COPY; everything that touches many rows is one set-based statement.
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
    this.snapshots = new PostgresSnapshots(context);
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
    // The batches' folds under way first: what is left for the fold below is what they could not do.
    await this.imports.foldsDone(runId);
    await this.context.transaction(async (client) => {
      // Locked first: a trigger deleting it (the destination deleted meanwhile) waits for the fold,
      // then drops the snapshot it made.
      const { rows } = await client.query<{ destination: string }>(
        'SELECT destination FROM export_checkpoints WHERE run_id = $1 FOR UPDATE',
        [runId],
      );
      const destination = rows[0]?.destination;
      if (destination === undefined) return;
      // A million contacts are sorted by email for the fold: in memory rather than on disk.
      await client.query(`SET LOCAL work_mem = '256MB'`);
      await this.imports.foldConfirmed(client, runId, destination);
      // Its staged contacts first: cheaper than the cascade row by row.
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
  constructor(private readonly context: PostgresRunContext) {}

  async size(destination: string): Promise<number> {
    // The members, and the new contacts of an unfinished run's confirmed batches not folded yet
    // (those an older version confirmed: this one folds a batch as it confirms it).
    const { rows } = await this.context.query<{ size: number }>(
      `SELECT ((SELECT count(*) FROM export_snapshots WHERE destination = $1)
             + (SELECT count(DISTINCT r.email_key) FROM export_checkpoints c
                JOIN export_import_batches b ON b.run_id = c.run_id AND b.state = 'confirmed' AND NOT b.folded
                JOIN export_run_contacts r ON r.run_id = b.run_id AND r.seq BETWEEN b.first_seq AND b.last_seq
                WHERE c.destination = $1 AND NOT EXISTS
                  (SELECT 1 FROM export_snapshots s WHERE s.destination = $1 AND s.email_key = r.email_key)))::float8
             AS size`,
      [destination],
    );
    return rows[0]?.size ?? 0;
  }

  /**
   * Keyset pages in email order (the primary key's order, C collation: the bytes' order, as in
   * SQLite), each page one query; the halves computed by the server, as plain numbers.
   */
  async *members(destination: string, pageSize = 10_000): AsyncGenerator<readonly SnapshotMember[]> {
    let after = '';
    for (;;) {
      const { rows } = await this.context.queryArrays<[string, number, number]>(
        `SELECT email_key, ((fingerprint >> 32) & 4294967295)::float8, (fingerprint & 4294967295)::float8
         FROM export_snapshots WHERE destination = $1 AND email_key > $2 ORDER BY email_key LIMIT $3`,
        [destination, after, pageSize],
      );
      if (rows.length > 0) yield rows;
      if (rows.length < pageSize) return;
      after = (rows[rows.length - 1] as [string, number, number])[0];
    }
  }

  async reconcileWithList(
    destination: string,
    emailKeys: readonly string[],
  ): Promise<{ readonly missing: number; readonly notExportctls: number }> {
    return this.context.transaction(async (client) => {
      await client.query(
        'CREATE TEMP TABLE list_members_seen (email_key text COLLATE "C" PRIMARY KEY) ON COMMIT DROP',
      );
      await client.query(
        'INSERT INTO list_members_seen (email_key) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING',
        [emailKeys],
      );
      const counted = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM list_members_seen m
         WHERE NOT EXISTS (SELECT 1 FROM export_snapshots s WHERE s.destination = $1 AND s.email_key = m.email_key)`,
        [destination],
      );
      const missing = await client.query(
        `DELETE FROM export_snapshots s WHERE s.destination = $1
         AND NOT EXISTS (SELECT 1 FROM list_members_seen m WHERE m.email_key = s.email_key)`,
        [destination],
      );
      const missingCount = missing.rowCount ?? 0;
      if (missingCount > 0) await this.context.bumpRevision(client, destination);
      return { missing: missingCount, notExportctls: counted.rows[0]?.n ?? 0 };
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
