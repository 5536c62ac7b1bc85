import { fnv1a32 } from '../contact-index';
import type { SnapshotMember } from '../run-store';
import type { SqliteDatabase } from './sqlite-run-context';

/**
 * A destination's snapshot in the SQLite state: its members spread over up to 4,096 buckets by a
 * hash of the email key, each bucket one row of `export_snapshot_buckets` holding its members
 * packed (`encodeSnapshotBucket`). A million members are 4,096 rows of ~10 kB instead of a million
 * rows of a B-tree: a full export's fold writes each bucket once, in bucket order (it was a million
 * sorted inserts, a third of the state's writes), and a run loads the snapshot by decoding 4,096
 * blobs instead of stepping through a million rows. A change rewrites the buckets it touches.
 *
 * The bucket of an email is stored: `snapshotBucketOf` is frozen.
 */
export const snapshotBucketCount = 4096;

/** The bucket of `emailKey`: the top 12 bits of its FNV-1a hash (the best mixed ones). Frozen. */
export function snapshotBucketOf(emailKey: string): number {
  return fnv1a32(emailKey) >>> 20;
}

/** A bucket's members, in parallel arrays. */
export interface BucketMembers {
  readonly keys: string[];
  readonly hi: number[];
  readonly lo: number[];
  /** The run that confirmed each. */
  readonly runs: number[];
}

const formatVersion = 1;

/**
 * A bucket as stored: u32 format version (1), u32 n, then n u32 of each of: fingerprint high
 * halves, low halves, confirming runs, the end of each email key in the key bytes; then the email
 * keys' UTF-8 bytes, one after another. Little-endian.
 */
export function encodeSnapshotBucket(members: BucketMembers, keep?: Uint8Array): Buffer {
  let count = 0;
  let keyBytes = 0;
  for (let index = 0; index < members.keys.length; index++) {
    if (keep !== undefined && keep[index] === 0) continue;
    count += 1;
    keyBytes += Buffer.byteLength(members.keys[index] as string);
  }
  const head = 8 + 16 * count;
  const blob = Buffer.allocUnsafe(head + keyBytes);
  blob.writeUInt32LE(formatVersion, 0);
  blob.writeUInt32LE(count, 4);
  let at = 0;
  let written = head;
  for (let index = 0; index < members.keys.length; index++) {
    if (keep !== undefined && keep[index] === 0) continue;
    blob.writeUInt32LE(members.hi[index] as number, 8 + 4 * at);
    blob.writeUInt32LE(members.lo[index] as number, 8 + 4 * (count + at));
    blob.writeUInt32LE(members.runs[index] as number, 8 + 4 * (2 * count + at));
    written += blob.write(members.keys[index] as string, written, 'utf8');
    blob.writeUInt32LE(written - head, 8 + 4 * (3 * count + at));
    at += 1;
  }
  return blob;
}

/** The members of a stored bucket. */
export function decodeSnapshotBucket(blob: Buffer): BucketMembers {
  const { count, head } = bucketHead(blob);
  const members: BucketMembers = { keys: [], hi: [], lo: [], runs: [] };
  let start = head;
  for (let index = 0; index < count; index++) {
    const end = head + blob.readUInt32LE(8 + 4 * (3 * count + index));
    members.keys.push(blob.toString('utf8', start, end));
    members.hi.push(blob.readUInt32LE(8 + 4 * index));
    members.lo.push(blob.readUInt32LE(8 + 4 * (count + index)));
    members.runs.push(blob.readUInt32LE(8 + 4 * (2 * count + index)));
    start = end;
  }
  return members;
}

/** Appends a stored bucket's members to `page` as snapshot members (email key, fingerprint halves). */
export function appendSnapshotMembers(blob: Buffer, page: SnapshotMember[]): void {
  const { count, head } = bucketHead(blob);
  let start = head;
  for (let index = 0; index < count; index++) {
    const end = head + blob.readUInt32LE(8 + 4 * (3 * count + index));
    page.push([
      blob.toString('utf8', start, end),
      blob.readUInt32LE(8 + 4 * index),
      blob.readUInt32LE(8 + 4 * (count + index)),
    ]);
    start = end;
  }
}

function bucketHead(blob: Buffer): { count: number; head: number } {
  const version = blob.readUInt32LE(0);
  if (version !== formatVersion)
    throw new Error(`a snapshot bucket of format ${version}; this version of exportctl reads format 1`);
  const count = blob.readUInt32LE(4);
  return { count, head: 8 + 16 * count };
}

/** How many members a destination's stored buckets hold. */
export function snapshotBucketMembers(db: SqliteDatabase, destination: string): number {
  return (
    db
      .prepare('SELECT coalesce(sum(members), 0) AS n FROM export_snapshot_buckets WHERE destination = ?')
      .get(destination) as { n: number }
  ).n;
}

// An operation on one member: put (insert or replace its fingerprint and run), unconfirm (its
// fingerprint becomes 0, the unconfirmed one; a member it was not is added with `run`), remove.
const put = 0;
const unconfirm = 1;
const remove = 2;

/**
 * Changes to one destination's snapshot, collected and then applied bucket by bucket (inside the
 * caller's transaction), each bucket read and written once, the changes to it in the order given.
 * Held in parallel arrays: a full export's fold is a million of them.
 */
export class SnapshotBucketChanges {
  private count = 0;
  private keys: string[] = [];
  private kinds = new Uint8Array(1024);
  private his = new Uint32Array(1024);
  private los = new Uint32Array(1024);
  private runs = new Uint32Array(1024);
  private buckets = new Uint16Array(1024);

  constructor(private readonly destination: string) {}

  get size(): number {
    return this.count;
  }

  /** The member `emailKey` with this fingerprint, confirmed by `run` (replacing what it had). */
  put(emailKey: string, hi: number, lo: number, run: number): void {
    this.add(put, emailKey, hi, lo, run);
  }

  /** The member `emailKey` sent but not confirmed: fingerprint 0 (added, with `run`, if absent). */
  unconfirm(emailKey: string, run: number): void {
    this.add(unconfirm, emailKey, 0, 0, run);
  }

  /** `emailKey` leaves the snapshot. */
  remove(emailKey: string): void {
    this.add(remove, emailKey, 0, 0, 0);
  }

  /**
   * Applies the changes; resolves how many of them changed a member (a put or unconfirm always
   * does, as an upsert counts; a remove when the member was there).
   */
  apply(db: SqliteDatabase): number {
    if (this.count === 0) return 0;
    // The changes in bucket order, each bucket's in the order given (a counting sort).
    const starts = new Uint32Array(snapshotBucketCount + 1);
    for (let index = 0; index < this.count; index++) {
      const slot = (this.buckets[index] as number) + 1;
      starts[slot] = (starts[slot] as number) + 1;
    }
    for (let bucket = 0; bucket < snapshotBucketCount; bucket++)
      starts[bucket + 1] = (starts[bucket + 1] as number) + (starts[bucket] as number);
    const order = new Uint32Array(this.count);
    const next = starts.slice(0, snapshotBucketCount);
    for (let index = 0; index < this.count; index++) {
      const bucket = this.buckets[index] as number;
      order[next[bucket] as number] = index;
      next[bucket] = (next[bucket] as number) + 1;
    }
    const read = db.prepare('SELECT data FROM export_snapshot_buckets WHERE destination = ? AND bucket = ?');
    const write = db.prepare(
      `INSERT INTO export_snapshot_buckets (destination, bucket, members, data) VALUES (?, ?, ?, ?)
       ON CONFLICT (destination, bucket) DO UPDATE SET members = excluded.members, data = excluded.data`,
    );
    const drop = db.prepare('DELETE FROM export_snapshot_buckets WHERE destination = ? AND bucket = ?');
    let changed = 0;
    for (let bucket = 0; bucket < snapshotBucketCount; bucket++) {
      const from = starts[bucket] as number;
      const to = starts[bucket + 1] as number;
      if (from === to) continue;
      const row = read.get(this.destination, bucket) as { data: Buffer } | undefined;
      const members: BucketMembers =
        row === undefined ? { keys: [], hi: [], lo: [], runs: [] } : decodeSnapshotBucket(row.data);
      const at = new Map<string, number>();
      for (let index = 0; index < members.keys.length; index++) at.set(members.keys[index] as string, index);
      let kept = new Uint8Array(members.keys.length + (to - from)).fill(1);
      let removed = 0;
      for (let position = from; position < to; position++) {
        const change = order[position] as number;
        const key = this.keys[change] as string;
        const kind = this.kinds[change] as number;
        let index = at.get(key);
        if (kind === remove) {
          if (index === undefined) continue;
          kept[index] = 0;
          at.delete(key);
          removed += 1;
          changed += 1;
          continue;
        }
        changed += 1;
        if (index === undefined) {
          index = members.keys.length;
          if (index >= kept.length) {
            const bigger = new Uint8Array(2 * kept.length + 1).fill(1);
            bigger.set(kept);
            kept = bigger;
          }
          members.keys.push(key);
          members.hi.push(this.his[change] as number);
          members.lo.push(this.los[change] as number);
          members.runs.push(this.runs[change] as number);
          at.set(key, index);
          continue;
        }
        members.hi[index] = this.his[change] as number;
        members.lo[index] = this.los[change] as number;
        if (kind === put) members.runs[index] = this.runs[change] as number;
      }
      // Each removal cleared one kept member (it left the map with it).
      const live = members.keys.length - removed;
      if (live === 0) drop.run(this.destination, bucket);
      else
        write.run(
          this.destination,
          bucket,
          live,
          encodeSnapshotBucket(members, removed > 0 ? kept : undefined),
        );
    }
    return changed;
  }

  private add(kind: number, emailKey: string, hi: number, lo: number, run: number): void {
    if (this.count === this.kinds.length) this.grow();
    const index = this.count;
    this.count += 1;
    this.keys.push(emailKey);
    this.kinds[index] = kind;
    this.his[index] = hi;
    this.los[index] = lo;
    this.runs[index] = run;
    this.buckets[index] = snapshotBucketOf(emailKey);
  }

  private grow(): void {
    const size = 2 * this.kinds.length;
    const resize = <T extends Uint8Array | Uint16Array | Uint32Array>(
      array: T,
      make: (n: number) => T,
    ): T => {
      const bigger = make(size);
      bigger.set(array);
      return bigger;
    };
    this.kinds = resize(this.kinds, (n) => new Uint8Array(n));
    this.his = resize(this.his, (n) => new Uint32Array(n));
    this.los = resize(this.los, (n) => new Uint32Array(n));
    this.runs = resize(this.runs, (n) => new Uint32Array(n));
    this.buckets = resize(this.buckets, (n) => new Uint16Array(n));
  }
}
