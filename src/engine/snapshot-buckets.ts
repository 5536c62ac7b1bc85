import { fnv1a32 } from './contact-index';
import type { PackedSnapshotMembers, SnapshotMember } from './run-store';

/**
 * A destination's snapshot as both run stores keep it: its members spread over up to 4,096 buckets
 * by a hash of the email key, each bucket one row of `export_snapshot_buckets` holding its members
 * packed (format 1, below). A million members are 4,096 rows of ~10 kB instead of a million
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

/**
 * A bucket as stored (format 1): u32 format version (1), u32 n, then n u32 of each of: fingerprint
 * high halves, low halves, confirming runs, the end of each email key in the key bytes; then the
 * email keys' UTF-8 bytes, one after another. Little-endian. Written by `SnapshotBucketChanges`.
 */
const formatVersion = 1;

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

/** A stored bucket's members, read in place (see `PackedSnapshotMembers`). */
export class SnapshotBucketView implements PackedSnapshotMembers {
  readonly count: number;
  private readonly head: number;

  constructor(readonly bytes: Buffer) {
    ({ count: this.count, head: this.head } = bucketHead(bytes));
  }

  keyStart(index: number): number {
    return this.head + (index === 0 ? 0 : this.bytes.readUInt32LE(8 + 4 * (3 * this.count + index - 1)));
  }

  keyEnd(index: number): number {
    return this.head + this.bytes.readUInt32LE(8 + 4 * (3 * this.count + index));
  }

  hi(index: number): number {
    return this.bytes.readUInt32LE(8 + 4 * index);
  }

  lo(index: number): number {
    return this.bytes.readUInt32LE(8 + 4 * (this.count + index));
  }
}

function bucketHead(blob: Buffer): { count: number; head: number } {
  const version = blob.readUInt32LE(0);
  if (version !== formatVersion)
    throw new Error(`a snapshot bucket of format ${version}; this version of exportctl reads format 1`);
  const count = blob.readUInt32LE(4);
  return { count, head: 8 + 16 * count };
}

// An operation on one member: put (insert or replace its fingerprint and run), unconfirm (its
// fingerprint becomes 0, the unconfirmed one; a member it was not is added with `run`), remove,
// translate (its fingerprint replaced when it still is the one given; its run kept; an absent
// member is not added).
const put = 0;
const unconfirm = 1;
const remove = 2;
const translate = 3;

/** FNV-1a over bytes: finds equal emails among a bucket's members (every match is confirmed). */
function fnvBytes(bytes: Buffer, start: number, end: number): number {
  let hash = 0x811c9dc5;
  for (let index = start; index < end; index++) {
    hash ^= bytes[index] as number;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/**
 * `snapshotBucketOf` of the email whose UTF-8 bytes these are, from their `fnvBytes` hash: for an
 * ASCII email, bytes and UTF-16 code units are the same numbers, so the hashes are one.
 */
function bucketOfBytes(bytes: Buffer, start: number, end: number, hash: number): number {
  for (let index = start; index < end; index++)
    if ((bytes[index] as number) >= 0x80) return snapshotBucketOf(bytes.toString('utf8', start, end));
  return hash >>> 20;
}

/**
 * Copies `from[start, end)` to `to` at `at`; resolves the end of the copy. A loop: an email is a
 * few dozen bytes, and `Buffer.copy` costs more to call than that takes.
 */
function copyBytes(from: Buffer, start: number, end: number, to: Buffer, at: number): number {
  let written = at;
  for (let index = start; index < end; index++) to[written++] = from[index] as number;
  return written;
}

/** Equal byte ranges. */
function sameBytes(
  a: Buffer,
  aStart: number,
  aEnd: number,
  b: Buffer,
  bStart: number,
  bEnd: number,
): boolean {
  const length = aEnd - aStart;
  if (length !== bEnd - bStart) return false;
  for (let index = 0; index < length; index++) if (a[aStart + index] !== b[bStart + index]) return false;
  return true;
}

/** A destination's stored buckets, as `SnapshotBucketChanges.applyTo` reads and writes them. */
export interface SnapshotBucketAccess {
  /** The bucket's stored bytes; undefined when it holds no member. */
  read(bucket: number): Buffer | undefined;
  write(bucket: number, members: number, data: Buffer): void;
  drop(bucket: number): void;
}

/**
 * Changes to one destination's snapshot, collected and then applied bucket by bucket (inside the
 * caller's transaction), each bucket read and written once, the changes to it in the order given.
 * Held as bytes and parallel arrays, never as strings: a full export's fold is a million of them,
 * and a bucket's members are matched and copied as the bytes they are stored as.
 */
export class SnapshotBucketChanges {
  private count = 0;
  private arena = Buffer.allocUnsafe(64 * 1024);
  private used = 0;
  private ends = new Uint32Array(1024);
  private kinds = new Uint8Array(1024);
  private his = new Uint32Array(1024);
  private los = new Uint32Array(1024);
  private runs = new Uint32Array(1024);
  private buckets = new Uint16Array(1024);
  private hashes = new Uint32Array(1024);
  /** A translation's fingerprint it replaces (allocated by the first). */
  private fromHis: Uint32Array | undefined;
  private fromLos: Uint32Array | undefined;

  constructor(readonly destination: string) {}

  /** Changes held. */
  get size(): number {
    return this.count;
  }

  /** The member `emailKey` with this fingerprint, confirmed by `run` (replacing what it had). */
  put(emailKey: string, hi: number, lo: number, run: number): void {
    this.addString(put, emailKey, hi, lo, run);
  }

  /** `put` of the email whose UTF-8 bytes are `bytes[start, end)`. */
  putBytes(bytes: Buffer, start: number, end: number, hi: number, lo: number, run: number): void {
    this.reserve(end - start);
    copyBytes(bytes, start, end, this.arena, this.used);
    this.add(put, end - start, hi, lo, run);
  }

  /** The member `emailKey` sent but not confirmed: fingerprint 0 (added, with `run`, if absent). */
  unconfirm(emailKey: string, run: number): void {
    this.addString(unconfirm, emailKey, 0, 0, run);
  }

  /** `emailKey` leaves the snapshot. */
  remove(emailKey: string): void {
    this.addString(remove, emailKey, 0, 0, 0);
  }

  /**
   * The member `emailKey`'s fingerprint `from` becomes `to`, the same contact's in another scheme
   * (see `ImportStaging`): a compare and set, so that a member whose fingerprint changed since it
   * was read keeps it; its run is kept; a member that is not there is not added.
   */
  translate(emailKey: string, from: readonly [number, number], to: readonly [number, number]): void {
    const index = this.count;
    this.addString(translate, emailKey, to[0], to[1], 0);
    if (this.fromHis === undefined || this.fromLos === undefined) {
      this.fromHis = new Uint32Array(this.kinds.length);
      this.fromLos = new Uint32Array(this.kinds.length);
    }
    this.fromHis[index] = from[0];
    this.fromLos[index] = from[1];
  }

  /** The buckets the changes touch, in increasing order (those `applyTo` reads and writes). */
  touchedBuckets(): number[] {
    const seen = new Uint8Array(snapshotBucketCount);
    for (let index = 0; index < this.count; index++) seen[this.buckets[index] as number] = 1;
    const touched: number[] = [];
    for (let bucket = 0; bucket < snapshotBucketCount; bucket++) if (seen[bucket] === 1) touched.push(bucket);
    return touched;
  }

  /**
   * Applies the changes through `access` (the store's buckets of the destination, inside the
   * caller's transaction), bucket by bucket in increasing order: each touched bucket read once and
   * then written or dropped once. Resolves how many changes changed a member (a put or unconfirm
   * always does, as an upsert counts; a remove when the member was there).
   */
  applyTo(access: SnapshotBucketAccess): number {
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
    const merged = new BucketMerge();
    let changed = 0;
    for (let bucket = 0; bucket < snapshotBucketCount; bucket++) {
      const from = starts[bucket] as number;
      const to = starts[bucket + 1] as number;
      if (from === to) continue;
      const stored = access.read(bucket);
      // A few changes to a stored bucket (a rerun's): its bytes copied whole, the changes patched
      // in. Else its members and the changes merged.
      const target: BucketChange =
        stored !== undefined && to - from <= patchedChanges ? new BucketPatch(stored) : merged.reset(stored);
      for (let position = from; position < to; position++) {
        const change = order[position] as number;
        changed += target.apply(
          this.kinds[change] as number,
          this.arena,
          change === 0 ? 0 : (this.ends[change - 1] as number),
          this.ends[change] as number,
          this.hashes[change] as number,
          this.his[change] as number,
          this.los[change] as number,
          this.runs[change] as number,
          this.fromHis?.[change] ?? 0,
          this.fromLos?.[change] ?? 0,
        );
      }
      if (target.live === 0) access.drop(bucket);
      else access.write(bucket, target.live, target.encode());
    }
    return changed;
  }

  private addString(kind: number, emailKey: string, hi: number, lo: number, run: number): void {
    this.reserve(3 * emailKey.length);
    this.add(kind, this.arena.write(emailKey, this.used, 'utf8'), hi, lo, run);
  }

  /** Records a change whose email's bytes were just written at the arena's free end. */
  private add(kind: number, bytes: number, hi: number, lo: number, run: number): void {
    if (this.count === this.kinds.length) this.grow();
    const index = this.count;
    const start = this.used;
    this.used += bytes;
    this.count += 1;
    this.ends[index] = this.used;
    this.kinds[index] = kind;
    this.his[index] = hi;
    this.los[index] = lo;
    this.runs[index] = run;
    const hash = fnvBytes(this.arena, start, this.used);
    this.hashes[index] = hash;
    this.buckets[index] = bucketOfBytes(this.arena, start, this.used, hash);
  }

  private reserve(bytes: number): void {
    if (this.used + bytes <= this.arena.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.arena.length, this.used + bytes));
    this.arena.copy(bigger, 0, 0, this.used);
    this.arena = bigger;
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
    this.ends = resize(this.ends, (n) => new Uint32Array(n));
    this.kinds = resize(this.kinds, (n) => new Uint8Array(n));
    this.his = resize(this.his, (n) => new Uint32Array(n));
    this.los = resize(this.los, (n) => new Uint32Array(n));
    this.runs = resize(this.runs, (n) => new Uint32Array(n));
    this.buckets = resize(this.buckets, (n) => new Uint16Array(n));
    this.hashes = resize(this.hashes, (n) => new Uint32Array(n));
    if (this.fromHis !== undefined) this.fromHis = resize(this.fromHis, (n) => new Uint32Array(n));
    if (this.fromLos !== undefined) this.fromLos = resize(this.fromLos, (n) => new Uint32Array(n));
  }
}

/** One bucket being changed, one change at a time, then encoded. */
interface BucketChange {
  /** Members once the changes so far are applied. */
  readonly live: number;
  /**
   * Applies one change (its email `bytes[start, end)`, `hash`: `fnvBytes` of them; `fromHi` and
   * `fromLo`: a translation's fingerprint it replaces); 1 when it changed a member.
   */
  apply(
    kind: number,
    bytes: Buffer,
    start: number,
    end: number,
    hash: number,
    hi: number,
    lo: number,
    run: number,
    fromHi: number,
    fromLo: number,
  ): number;
  /** The bucket with the changes, encoded in format 1. */
  encode(): Buffer;
}

/**
 * One bucket being changed: its stored members and those the changes add, each as a byte range
 * of the buffer that holds it, found by a hash of its bytes (open addressing, every match
 * confirmed byte for byte). Reused from bucket to bucket.
 */
class BucketMerge implements BucketChange {
  live = 0;
  private size = 0;
  private sources: Buffer[] = [];
  private starts = new Uint32Array(256);
  private ends = new Uint32Array(256);
  private his = new Uint32Array(256);
  private los = new Uint32Array(256);
  private runs = new Uint32Array(256);
  private hashes = new Uint32Array(256);
  private kept = new Uint8Array(256);
  private slots = new Int32Array(512);

  /** Starts over with the members of `stored` (none when undefined). */
  reset(stored: Buffer | undefined): this {
    this.size = 0;
    this.live = 0;
    this.sources.length = 0;
    const count = stored === undefined ? 0 : bucketHead(stored).count;
    this.room(count + 16);
    this.slots.fill(0);
    if (stored === undefined) return this;
    const head = 8 + 16 * count;
    let start = head;
    for (let index = 0; index < count; index++) {
      const end = head + stored.readUInt32LE(8 + 4 * (3 * count + index));
      this.insert(
        stored,
        start,
        end,
        fnvBytes(stored, start, end),
        stored.readUInt32LE(8 + 4 * index),
        stored.readUInt32LE(8 + 4 * (count + index)),
        stored.readUInt32LE(8 + 4 * (2 * count + index)),
      );
      start = end;
    }
    return this;
  }

  /** Applies one change; resolves 1 when it changed a member. */
  apply(
    kind: number,
    bytes: Buffer,
    start: number,
    end: number,
    hash: number,
    hi: number,
    lo: number,
    run: number,
    fromHi: number,
    fromLo: number,
  ): number {
    const member = this.find(bytes, start, end, hash);
    if (kind === remove) {
      if (member === -1) return 0;
      this.kept[member] = 0;
      this.live -= 1;
      return 1;
    }
    if (kind === translate) {
      if (member === -1 || this.his[member] !== fromHi || this.los[member] !== fromLo) return 0;
      this.his[member] = hi;
      this.los[member] = lo;
      return 1;
    }
    if (member === -1) {
      this.room(this.size + 1);
      this.insert(bytes, start, end, hash, hi, lo, run);
      return 1;
    }
    this.his[member] = hi;
    this.los[member] = lo;
    if (kind === put) this.runs[member] = run;
    return 1;
  }

  /** The bucket's live members, encoded in format 1. */
  encode(): Buffer {
    let keyBytes = 0;
    for (let index = 0; index < this.size; index++)
      if (this.kept[index] === 1) keyBytes += (this.ends[index] as number) - (this.starts[index] as number);
    const count = this.live;
    const head = 8 + 16 * count;
    const blob = Buffer.allocUnsafe(head + keyBytes);
    blob.writeUInt32LE(formatVersion, 0);
    blob.writeUInt32LE(count, 4);
    let at = 0;
    let written = head;
    for (let index = 0; index < this.size; index++) {
      if (this.kept[index] === 0) continue;
      blob.writeUInt32LE(this.his[index] as number, 8 + 4 * at);
      blob.writeUInt32LE(this.los[index] as number, 8 + 4 * (count + at));
      blob.writeUInt32LE(this.runs[index] as number, 8 + 4 * (2 * count + at));
      written = copyBytes(
        this.sources[index] as Buffer,
        this.starts[index] as number,
        this.ends[index] as number,
        blob,
        written,
      );
      blob.writeUInt32LE(written - head, 8 + 4 * (3 * count + at));
      at += 1;
    }
    return blob;
  }

  /** The live member with these bytes, or -1 (a removed one stays removed: a later put adds anew). */
  private find(bytes: Buffer, start: number, end: number, hash: number): number {
    const mask = this.slots.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const held = this.slots[slot] as number;
      if (held === 0) return -1;
      const member = held - 1;
      if (
        this.kept[member] === 1 &&
        this.hashes[member] === hash &&
        sameBytes(
          this.sources[member] as Buffer,
          this.starts[member] as number,
          this.ends[member] as number,
          bytes,
          start,
          end,
        )
      )
        return member;
    }
  }

  private insert(
    source: Buffer,
    start: number,
    end: number,
    hash: number,
    hi: number,
    lo: number,
    run: number,
  ): void {
    const member = this.size;
    this.size += 1;
    this.live += 1;
    this.sources[member] = source;
    this.starts[member] = start;
    this.ends[member] = end;
    this.his[member] = hi;
    this.los[member] = lo;
    this.runs[member] = run;
    this.hashes[member] = hash;
    this.kept[member] = 1;
    const mask = this.slots.length - 1;
    let slot = hash & mask;
    while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
    this.slots[slot] = member + 1;
  }

  /** Room for `members` in the per-member arrays, and a table at most half full. */
  private room(members: number): void {
    if (members > this.starts.length) {
      let size = this.starts.length;
      while (size < members) size *= 2;
      const resize = <T extends Uint8Array | Uint32Array>(array: T, make: (n: number) => T): T => {
        const bigger = make(size);
        bigger.set(array.subarray(0, this.size));
        return bigger;
      };
      this.starts = resize(this.starts, (n) => new Uint32Array(n));
      this.ends = resize(this.ends, (n) => new Uint32Array(n));
      this.his = resize(this.his, (n) => new Uint32Array(n));
      this.los = resize(this.los, (n) => new Uint32Array(n));
      this.runs = resize(this.runs, (n) => new Uint32Array(n));
      this.hashes = resize(this.hashes, (n) => new Uint32Array(n));
      this.kept = resize(this.kept, (n) => new Uint8Array(n));
    }
    if (2 * members > this.slots.length) {
      let slots = this.slots.length;
      while (slots < 2 * members) slots *= 2;
      this.slots = new Int32Array(slots);
      this.rehashInto();
    }
  }

  private rehashInto(): void {
    const mask = this.slots.length - 1;
    for (let member = 0; member < this.size; member++) {
      let slot = (this.hashes[member] as number) & mask;
      while (this.slots[slot] !== 0) slot = (slot + 1) & mask;
      this.slots[slot] = member + 1;
    }
  }
}

/** Changes to one stored bucket up to which `BucketPatch` applies them (more: `BucketMerge`). */
const patchedChanges = 16;

/**
 * A stored bucket and a few changes to it: each change finds its member by a scan of the stored
 * lengths (bytes compared only where they match), and the bucket is written back by copying its
 * bytes whole and patching the changed numbers in (or, when members come or go, by copying its
 * runs of kept members). A 1%-change rerun's fold changes 2 or 3 members of each of 4,096 buckets
 * of ~240: hashing every member to find them cost more than the copy.
 */
class BucketPatch implements BucketChange {
  live: number;
  private readonly count: number;
  private readonly head: number;
  /** Where each stored member's email ends, in the key bytes. */
  private readonly ends: Uint32Array;
  private readonly changed = new Map<number, [hi: number, lo: number, run: number]>();
  private readonly removed = new Set<number>();
  private readonly added: { bytes: Buffer; hi: number; lo: number; run: number; kept: boolean }[] = [];

  constructor(private readonly stored: Buffer) {
    ({ count: this.count, head: this.head } = bucketHead(stored));
    this.live = this.count;
    this.ends = new Uint32Array(this.count);
    for (let index = 0; index < this.count; index++)
      this.ends[index] = stored.readUInt32LE(8 + 4 * (3 * this.count + index));
  }

  /** Applies one change (as `BucketMerge.apply`; it needs no hash); 1 when it changed a member. */
  apply(
    kind: number,
    bytes: Buffer,
    start: number,
    end: number,
    _hash: number,
    hi: number,
    lo: number,
    run: number,
    fromHi: number,
    fromLo: number,
  ): number {
    const length = end - start;
    let member = -1;
    for (let index = 0; index < this.count && member === -1; index++) {
      if (this.removed.has(index)) continue;
      const from = index === 0 ? 0 : (this.ends[index - 1] as number);
      const to = this.ends[index] as number;
      if (to - from === length && sameBytes(this.stored, this.head + from, this.head + to, bytes, start, end))
        member = index;
    }
    if (member !== -1) {
      if (kind === remove) {
        this.removed.add(member);
        this.changed.delete(member);
        this.live -= 1;
        return 1;
      }
      const before = this.changed.get(member) ?? [
        this.stored.readUInt32LE(8 + 4 * member),
        this.stored.readUInt32LE(8 + 4 * (this.count + member)),
        this.stored.readUInt32LE(8 + 4 * (2 * this.count + member)),
      ];
      if (kind === translate && (before[0] !== fromHi || before[1] !== fromLo)) return 0;
      this.changed.set(member, [hi, lo, kind === put ? run : before[2]]);
      return 1;
    }
    const added = this.added.find(
      (item) => item.kept && sameBytes(item.bytes, 0, item.bytes.length, bytes, start, end),
    );
    if (kind === remove) {
      if (added === undefined) return 0;
      added.kept = false;
      this.live -= 1;
      return 1;
    }
    if (kind === translate) {
      if (added === undefined || added.hi !== fromHi || added.lo !== fromLo) return 0;
      added.hi = hi;
      added.lo = lo;
      return 1;
    }
    if (added !== undefined) {
      added.hi = hi;
      added.lo = lo;
      if (kind === put) added.run = run;
      return 1;
    }
    const copy = Buffer.allocUnsafe(length);
    copyBytes(bytes, start, end, copy, 0);
    this.added.push({ bytes: copy, hi, lo, run, kept: true });
    this.live += 1;
    return 1;
  }

  /** The bucket with the changes, encoded in format 1. */
  encode(): Buffer {
    const added = this.added.filter((item) => item.kept);
    if (this.removed.size === 0 && added.length === 0) {
      const blob = Buffer.from(this.stored);
      for (const [member, [hi, lo, run]] of this.changed) {
        blob.writeUInt32LE(hi, 8 + 4 * member);
        blob.writeUInt32LE(lo, 8 + 4 * (this.count + member));
        blob.writeUInt32LE(run, 8 + 4 * (2 * this.count + member));
      }
      return blob;
    }
    let keyBytes = 0;
    for (let index = 0; index < this.count; index++)
      if (!this.removed.has(index))
        keyBytes += (this.ends[index] as number) - (index === 0 ? 0 : (this.ends[index - 1] as number));
    for (const item of added) keyBytes += item.bytes.length;
    const count = this.live;
    const head = 8 + 16 * count;
    const blob = Buffer.allocUnsafe(head + keyBytes);
    blob.writeUInt32LE(formatVersion, 0);
    blob.writeUInt32LE(count, 4);
    let at = 0;
    let written = head;
    const writeMember = (hi: number, lo: number, run: number) => {
      blob.writeUInt32LE(hi, 8 + 4 * at);
      blob.writeUInt32LE(lo, 8 + 4 * (count + at));
      blob.writeUInt32LE(run, 8 + 4 * (2 * count + at));
      blob.writeUInt32LE(written - head, 8 + 4 * (3 * count + at));
      at += 1;
    };
    // The kept stored members' bytes in runs between removed ones: a copy per run, not per member.
    let runStart = 0;
    for (let index = 0; index <= this.count; index++) {
      if (index < this.count && !this.removed.has(index)) continue;
      const from = runStart === 0 ? 0 : (this.ends[runStart - 1] as number);
      const to = index === 0 ? 0 : (this.ends[index - 1] as number);
      if (index > runStart) {
        const base = written - from;
        this.stored.copy(blob, written, this.head + from, this.head + to);
        for (let member = runStart; member < index; member++) {
          const numbers = this.changed.get(member);
          written = base + (this.ends[member] as number);
          writeMember(
            numbers?.[0] ?? this.stored.readUInt32LE(8 + 4 * member),
            numbers?.[1] ?? this.stored.readUInt32LE(8 + 4 * (this.count + member)),
            numbers?.[2] ?? this.stored.readUInt32LE(8 + 4 * (2 * this.count + member)),
          );
        }
        written = base + to;
      }
      runStart = index + 1;
    }
    for (const item of added) {
      written = copyBytes(item.bytes, 0, item.bytes.length, blob, written);
      writeMember(item.hi, item.lo, item.run);
    }
    return blob;
  }
}

/**
 * The members of packed pages (`SnapshotStore.packedMembers`) as `SnapshotMember`s, in pages of at
 * least `pageSize` (whole buckets per page): `SnapshotStore.members` of a store that packs.
 */
export async function* snapshotMembersOf(
  packed: AsyncIterable<PackedSnapshotMembers>,
  pageSize: number,
): AsyncGenerator<readonly SnapshotMember[]> {
  let page: SnapshotMember[] = [];
  for await (const bucket of packed) {
    for (let index = 0; index < bucket.count; index++)
      page.push([
        bucket.bytes.toString('utf8', bucket.keyStart(index), bucket.keyEnd(index)),
        bucket.hi(index),
        bucket.lo(index),
      ]);
    if (page.length >= pageSize) {
      yield page;
      page = [];
    }
  }
  if (page.length > 0) yield page;
}

/** `emails` by the bucket each belongs in (`snapshotBucketOf`). */
export function emailsByBucket(emails: Iterable<string>): Map<number, string[]> {
  const byBucket = new Map<number, string[]>();
  for (const key of emails) {
    const bucket = snapshotBucketOf(key);
    const keys = byBucket.get(bucket);
    if (keys === undefined) byBucket.set(bucket, [key]);
    else keys.push(key);
  }
  return byBucket;
}

/** How many of `emails` the stored bucket `data` holds. */
export function heldInBucket(data: Buffer, emails: readonly string[]): number {
  const held = new Set(decodeSnapshotBucket(data).keys);
  let count = 0;
  for (const key of emails) if (held.has(key)) count += 1;
  return count;
}
