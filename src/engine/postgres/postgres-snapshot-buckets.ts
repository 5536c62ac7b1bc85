import type pg from 'pg';
import type { SnapshotBucketChanges } from '../snapshot-buckets';
import { copyBinary } from './binary-copy';

/**
 * The advisory lock class of a destination's snapshot (the two-key form, a space apart from the
 * one-key locks the state takes): every change to a destination's buckets holds it until its
 * transaction ends, so two of them never merge from the same stored bucket.
 */
const snapshotLockClass = 0x6578_7053; // 'expS'

/**
 * Applies `changes` to the destination's rows of `export_snapshot_buckets`, inside the caller's
 * transaction: the touched buckets read in one query, merged here, then replaced (deleted, and
 * written again by one binary COPY). Resolves `applyTo`'s count of changed members.
 */
export async function applySnapshotChanges(
  client: pg.ClientBase,
  changes: SnapshotBucketChanges,
): Promise<number> {
  const touched = changes.touchedBuckets();
  if (touched.length === 0) return 0;
  const { destination } = changes;
  await client.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [snapshotLockClass, destination]);
  const { rows } = await client.query<[number, Buffer]>({
    text: 'SELECT bucket, data FROM export_snapshot_buckets WHERE destination = $1 AND bucket = ANY($2::int[])',
    values: [destination, touched],
    rowMode: 'array',
  });
  const stored = new Map(rows);
  const written: [bucket: number, members: number, data: Buffer][] = [];
  const changed = changes.applyTo({
    read: (bucket) => stored.get(bucket),
    write: (bucket, members, data) => {
      written.push([bucket, members, data]);
    },
    drop: () => undefined,
  });
  if (stored.size > 0)
    await client.query(
      'DELETE FROM export_snapshot_buckets WHERE destination = $1 AND bucket = ANY($2::int[])',
      [destination, [...stored.keys()]],
    );
  if (written.length > 0)
    await copyBinary(
      client,
      'COPY export_snapshot_buckets (destination, bucket, members, data)',
      written.map(([bucket, members, data]) => [
        { text: destination },
        { int4: bucket },
        { int4: members },
        { bytea: data },
      ]),
    );
  return changed;
}
