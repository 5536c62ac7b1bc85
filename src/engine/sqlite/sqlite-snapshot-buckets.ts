import type { SnapshotBucketChanges } from '../snapshot-buckets';
import type { SqliteDatabase } from './sqlite-run-context';

/**
 * Applies `changes` to the destination's rows of `export_snapshot_buckets` (inside the caller's
 * transaction, if any); resolves `applyTo`'s count of changed members.
 */
export function applySnapshotChanges(db: SqliteDatabase, changes: SnapshotBucketChanges): number {
  const { destination } = changes;
  const read = db
    .prepare('SELECT data FROM export_snapshot_buckets WHERE destination = ? AND bucket = ?')
    .pluck();
  const write = db.prepare(
    `INSERT INTO export_snapshot_buckets (destination, bucket, members, data) VALUES (?, ?, ?, ?)
     ON CONFLICT (destination, bucket) DO UPDATE SET members = excluded.members, data = excluded.data`,
  );
  const drop = db.prepare('DELETE FROM export_snapshot_buckets WHERE destination = ? AND bucket = ?');
  return changes.applyTo({
    read: (bucket) => read.get(destination, bucket) as Buffer | undefined,
    write: (bucket, members, data) => {
      write.run(destination, bucket, members, data);
    },
    drop: (bucket) => {
      drop.run(destination, bucket);
    },
  });
}

/** How many members a destination's stored buckets hold. */
export function snapshotBucketMembers(db: SqliteDatabase, destination: string): number {
  return (
    db
      .prepare('SELECT coalesce(sum(members), 0) AS n FROM export_snapshot_buckets WHERE destination = ?')
      .get(destination) as { n: number }
  ).n;
}
