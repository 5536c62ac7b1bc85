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
import { SqliteImportBatches } from './sqlite-import-batches';
import { SqliteRemovalBatches } from './sqlite-removal-batches';
import { SqliteRowIssues } from './sqlite-row-issues';
import { type SqliteDatabase, SqliteRunContext } from './sqlite-run-context';
import { applySnapshotChanges, snapshotBucketMembers } from './sqlite-snapshot-buckets';

interface CheckpointRow {
  run_id: number;
  destination: string;
  list_id: string;
  phase: CheckpointPhase;
  removals_looked_up: number;
}

/**
 * The run store in the SQLite state's database (the tables of `runEngineSqliteMigrations`), for
 * the wiring to build from an opened SQLite state. Every method is one short transaction; the SQL
 * stays in this folder.
 */
export class SqliteRunStore implements RunStore {
  readonly checkpoints: CheckpointStore;
  readonly listBaselines: ListBaselineStore;
  readonly snapshots: SnapshotStore;
  readonly imports: SqliteImportBatches;
  readonly removals: SqliteRemovalBatches;
  readonly claims: ActivityClaimStore;
  readonly unchangedMarks: UnchangedMarkStore;
  readonly rowIssues: RowIssueStore;
  private readonly context: SqliteRunContext;

  /** `db`: the state's connection (migrated); `now`: the clock for the rows' times. */
  constructor(db: SqliteDatabase, now: () => number) {
    const context = new SqliteRunContext(db, now);
    this.context = context;
    this.imports = new SqliteImportBatches(context);
    this.checkpoints = new SqliteCheckpoints(context, this.imports);
    this.listBaselines = new SqliteListBaselines(context);
    this.snapshots = new SqliteSnapshots(context, this.imports);
    this.removals = new SqliteRemovalBatches(context);
    this.unchangedMarks = new SqliteUnchangedMarks(context);
    this.rowIssues = new SqliteRowIssues(context);
    this.claims = {
      async known() {
        const rows = context.db.prepare('SELECT activity_id FROM export_claimed_activities').all() as {
          activity_id: string;
        }[];
        return new Set(rows.map((row) => row.activity_id));
      },
    };
  }

  /**
   * Truncates the write-ahead log once a run is over: a million-contact run writes a few hundred MB
   * through it, and SQLite otherwise keeps the file at its largest size. Skipped while another
   * connection reads.
   */
  async compact(): Promise<void> {
    try {
      this.context.db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // Busy or not in WAL mode (an in-memory state): nothing to reclaim.
    }
  }
}

class SqliteCheckpoints implements CheckpointStore {
  constructor(
    private readonly context: SqliteRunContext,
    private readonly imports: SqliteImportBatches,
  ) {}

  async of(destination: string): Promise<Checkpoint | undefined> {
    const row = this.context.db
      .prepare('SELECT * FROM export_checkpoints WHERE destination = ?')
      .get(destination) as CheckpointRow | undefined;
    return row === undefined
      ? undefined
      : {
          runId: row.run_id,
          destination: row.destination,
          listId: row.list_id,
          phase: row.phase,
          removalsLookedUp: row.removals_looked_up === 1,
        };
  }

  async create(runId: number, destination: string, listId: string): Promise<void> {
    const now = this.context.now();
    this.context.db
      .prepare(
        `INSERT INTO export_checkpoints (run_id, destination, list_id, phase, created_at, updated_at)
         VALUES (?, ?, ?, 'planning', ?, ?)`,
      )
      .run(runId, destination, listId, now, now);
  }

  async delete(runId: number): Promise<void> {
    const { db } = this.context;
    // Three steps, each its own transaction, so that the staged contacts can be dropped the cheap
    // way (`dropStaged`, which cannot run inside another transaction). Every state in between is
    // one the port allows: the snapshot holds the run's confirmed contacts, and a checkpoint left
    // by a crash here belongs to a run that has ended, so the next run deletes it again (the fold
    // writes the same rows; nothing is sent from it).
    const destination = db
      .transaction(() => {
        const row = db.prepare('SELECT destination FROM export_checkpoints WHERE run_id = ?').get(runId) as
          | { destination: string }
          | undefined;
        if (row !== undefined) this.imports.foldConfirmed(runId, row.destination);
        return row?.destination;
      })
      .immediate();
    if (destination === undefined) return;
    this.imports.dropStaged(runId);
    db.transaction(() =>
      db.prepare('DELETE FROM export_checkpoints WHERE run_id = ?').run(runId),
    ).immediate();
  }

  async setPhase(runId: number, phase: CheckpointPhase): Promise<void> {
    this.context.write(runId, () => {
      this.context.db
        .prepare('UPDATE export_checkpoints SET phase = ?, updated_at = ? WHERE run_id = ?')
        .run(phase, this.context.now(), runId);
    });
  }

  async keepUnconfirmedSends(runId: number, destination: string): Promise<number> {
    return this.context.db.transaction(() => this.imports.keepUnconfirmed(runId, destination))();
  }
}

class SqliteListBaselines implements ListBaselineStore {
  constructor(private readonly context: SqliteRunContext) {}

  async get(destination: string, listId: string): Promise<number | undefined> {
    const row = this.context.db
      .prepare('SELECT membership_count FROM export_list_baselines WHERE destination = ? AND list_id = ?')
      .get(destination, listId) as { membership_count: number } | undefined;
    return row?.membership_count;
  }

  async set(destination: string, listId: string, membershipCount: number): Promise<void> {
    this.context.db
      .prepare(
        `INSERT INTO export_list_baselines (destination, list_id, membership_count, observed_at)
         VALUES (?, ?, ?, ?)
         ON CONFLICT (destination) DO UPDATE SET list_id = excluded.list_id,
           membership_count = excluded.membership_count, observed_at = excluded.observed_at`,
      )
      .run(destination, listId, membershipCount, this.context.now());
  }

  async drop(destination: string): Promise<void> {
    this.context.db.prepare('DELETE FROM export_list_baselines WHERE destination = ?').run(destination);
  }
}

class SqliteSnapshots implements SnapshotStore {
  constructor(
    private readonly context: SqliteRunContext,
    private readonly imports: SqliteImportBatches,
  ) {}

  async size(destination: string): Promise<number> {
    const { db } = this.context;
    const members = snapshotBucketMembers(db, destination);
    // The new contacts of an unfinished run's confirmed batches (not folded yet) count too.
    const checkpoint = db
      .prepare('SELECT run_id FROM export_checkpoints WHERE destination = ?')
      .pluck()
      .get(destination) as number | undefined;
    const confirmed = checkpoint === undefined ? [] : [...this.imports.confirmedEmails(checkpoint)];
    if (confirmed.length === 0) return members;
    const read = db
      .prepare('SELECT data FROM export_snapshot_buckets WHERE destination = ? AND bucket = ?')
      .pluck();
    let inSnapshot = 0;
    for (const [bucket, keys] of emailsByBucket(confirmed)) {
      const data = read.get(destination, bucket) as Buffer | undefined;
      if (data !== undefined) inSnapshot += heldInBucket(data, keys);
    }
    return members + confirmed.length - inSnapshot;
  }

  members(destination: string, pageSize = 10_000): AsyncGenerator<readonly SnapshotMember[]> {
    return snapshotMembersOf(this.packedMembers(destination), pageSize);
  }

  async *packedMembers(destination: string): AsyncGenerator<PackedSnapshotMembers> {
    const buckets = this.context.db
      .prepare(
        'SELECT bucket, data FROM export_snapshot_buckets WHERE destination = ? AND bucket > ? ORDER BY bucket LIMIT 64',
      )
      .raw();
    // A bucket per page, read 64 at a time: other calls may run between reads.
    let after = -1;
    for (;;) {
      const rows = buckets.all(destination, after) as [number, Buffer][];
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
    const { db } = this.context;
    return db.transaction(() => {
      const onList = new Set(emailKeys);
      const changes = new SnapshotBucketChanges(destination);
      let found = 0;
      const rows = db
        .prepare('SELECT data FROM export_snapshot_buckets WHERE destination = ?')
        .pluck()
        .all(destination) as Buffer[];
      for (const data of rows) {
        for (const key of decodeSnapshotBucket(data).keys) {
          if (onList.has(key)) found += 1;
          else changes.remove(key);
        }
      }
      const missing = applySnapshotChanges(db, changes);
      if (missing > 0) this.context.bumpRevision(destination);
      return { missing, notExportctls: onList.size - found };
    })();
  }

  async translate(changes: SnapshotBucketChanges): Promise<number> {
    const { db } = this.context;
    return db.transaction(() => {
      const translated = applySnapshotChanges(db, changes);
      if (translated > 0) this.context.bumpRevision(changes.destination);
      return translated;
    })();
  }
}

class SqliteUnchangedMarks implements UnchangedMarkStore {
  constructor(private readonly context: SqliteRunContext) {}

  async matches(destination: string, mark: string): Promise<boolean> {
    const row = this.context.db
      .prepare(
        `SELECT m.mark = @mark AND m.revision =
           coalesce((SELECT revision FROM export_snapshot_revisions WHERE destination = @destination), 0) AS same
         FROM export_unchanged_marks m WHERE m.destination = @destination`,
      )
      .get({ destination, mark }) as { same: number } | undefined;
    return row?.same === 1;
  }

  async set(destination: string, mark: string): Promise<void> {
    this.context.db
      .prepare(
        `INSERT OR REPLACE INTO export_unchanged_marks (destination, mark, revision)
         VALUES (@destination, @mark,
           coalesce((SELECT revision FROM export_snapshot_revisions WHERE destination = @destination), 0))`,
      )
      .run({ destination, mark });
  }

  async drop(destination: string): Promise<void> {
    this.context.db.prepare('DELETE FROM export_unchanged_marks WHERE destination = ?').run(destination);
  }
}
