import Database from 'better-sqlite3';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { SnapshotMember } from '../../../src/engine/run-store';
import {
  decodeSnapshotBucket,
  SnapshotBucketChanges,
  SnapshotBucketView,
  snapshotBucketOf,
} from '../../../src/engine/snapshot-buckets';
import {
  applySnapshotChanges,
  snapshotBucketMembers,
} from '../../../src/engine/sqlite/sqlite-snapshot-buckets';

const open = () => {
  const db = new Database(':memory:');
  db.exec(`CREATE TABLE export_snapshot_buckets (
    destination TEXT NOT NULL, bucket INTEGER NOT NULL, members INTEGER NOT NULL CHECK (members > 0),
    data BLOB NOT NULL, PRIMARY KEY (destination, bucket)) STRICT`);
  return db;
};

/** Every member of a destination as [email, hi, lo, run], by email. */
const everyone = (db: Database.Database, destination = 'vip') => {
  const rows = db
    .prepare('SELECT data FROM export_snapshot_buckets WHERE destination = ?')
    .pluck()
    .all(destination) as Buffer[];
  return rows
    .flatMap((data) => {
      const bucket = decodeSnapshotBucket(data);
      return bucket.keys.map((key, index) => [key, bucket.hi[index], bucket.lo[index], bucket.runs[index]]);
    })
    .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1));
};

/** A bucket in format 1, written from its description (u32 LE: version, n, hi[n], lo[n], runs[n], key ends[n]; key bytes). */
function formatOne(members: { keys: string[]; hi: number[]; lo: number[]; runs: number[] }): Buffer {
  const keys = members.keys.map((key) => Buffer.from(key, 'utf8'));
  const n = keys.length;
  const words = [1, n, ...members.hi, ...members.lo, ...members.runs];
  let end = 0;
  for (const key of keys) {
    end += key.length;
    words.push(end);
  }
  const head = Buffer.alloc(4 * words.length);
  words.forEach((word, index) => {
    head.writeUInt32LE(word, 4 * index);
  });
  return Buffer.concat([head, ...keys]);
}

/** 30 emails that share a bucket (found by trying). */
const oneBucket = (() => {
  const found: string[] = [];
  for (let index = 0; found.length < 30; index++) {
    const email = `q${index}@y.io`;
    if (snapshotBucketOf(email) === snapshotBucketOf('q0@y.io')) found.push(email);
  }
  return found;
})();

describe('snapshot buckets', () => {
  it('decodes format 1 byte for byte, non-ASCII emails and 32-bit halves included', () => {
    const members = {
      keys: ['a@x.io', 'jürgen@müller.de', '山田@例え.jp', ''],
      hi: [0, 0xffffffff, 1, 0x80000000],
      lo: [1, 0xfffffffe, 0, 0],
      runs: [7, 0, 4_000_000_000, 1],
    };
    expect(decodeSnapshotBucket(formatOne(members))).toEqual(members);
    // Read in place, as a run loads it.
    const view = new SnapshotBucketView(formatOne(members));
    const page: SnapshotMember[] = Array.from({ length: view.count }, (_, index) => [
      view.bytes.toString('utf8', view.keyStart(index), view.keyEnd(index)),
      view.hi(index),
      view.lo(index),
    ]);
    expect(page).toEqual(members.keys.map((key, index) => [key, members.hi[index], members.lo[index]]));
  });

  it('writes format 1 exactly, merging into a new bucket and patching a stored one', () => {
    const db = open();
    const stored = () =>
      db
        .prepare("SELECT data FROM export_snapshot_buckets WHERE destination = 'vip'")
        .pluck()
        .get() as Buffer;
    const keys = oneBucket.slice(0, 20);
    const merge = new SnapshotBucketChanges('vip');
    keys.forEach((key, index) => {
      merge.put(key, 0xffffffff - index, index, 1);
    });
    applySnapshotChanges(db, merge);
    const members = {
      keys,
      hi: keys.map((_, index) => 0xffffffff - index),
      lo: keys.map((_, index) => index),
      runs: keys.map(() => 1),
    };
    expect(stored().equals(formatOne(members))).toBe(true);
    // A few changes: two updated in place (the blob copied, numbers patched).
    const patch = new SnapshotBucketChanges('vip');
    patch.put(keys[3] as string, 9, 9, 2);
    patch.unconfirm(keys[7] as string, 2);
    applySnapshotChanges(db, patch);
    members.hi[3] = 9;
    members.lo[3] = 9;
    members.runs[3] = 2;
    members.hi[7] = 0;
    members.lo[7] = 0;
    expect(stored().equals(formatOne(members))).toBe(true);
    // One removed and one added: the kept ones in order, the new one last.
    const more = new SnapshotBucketChanges('vip');
    more.remove(keys[0] as string);
    more.put(oneBucket[25] as string, 5, 6, 3);
    applySnapshotChanges(db, more);
    const after = {
      keys: [...keys.slice(1), oneBucket[25] as string],
      hi: [...members.hi.slice(1), 5],
      lo: [...members.lo.slice(1), 6],
      runs: [...members.runs.slice(1), 3],
    };
    expect(stored().equals(formatOne(after))).toBe(true);
  });

  it('refuses a bucket of another format, saying which', () => {
    const blob = formatOne({ keys: ['a@x.io'], hi: [1], lo: [2], runs: [3] });
    blob.writeUInt32LE(2, 0);
    expect(() => decodeSnapshotBucket(blob)).toThrow(/format 2; this version of exportctl reads format 1/);
  });

  it('spreads emails over the 4,096 buckets (frozen: the bucket is stored)', () => {
    const used = new Set<number>();
    for (let index = 0; index < 20_000; index++) used.add(snapshotBucketOf(`person${index}@example.com`));
    expect(used.size).toBeGreaterThan(4_000);
    expect(Math.max(...used)).toBeLessThan(4096);
    // Pinned values: a change here would put stored members in buckets nobody reads.
    expect(['a@x.io', 'person1@example.com', 'jürgen@müller.de'].map(snapshotBucketOf)).toEqual([
      3800, 3104, 2515,
    ]);
    // A change lands in its email's bucket, ASCII or not, given as a string or as bytes.
    const db = open();
    const changes = new SnapshotBucketChanges('vip');
    changes.put('jürgen@müller.de', 1, 1, 1);
    const bytes = Buffer.from('person1@example.com');
    changes.putBytes(bytes, 0, bytes.length, 2, 2, 1);
    applySnapshotChanges(db, changes);
    expect(db.prepare('SELECT bucket FROM export_snapshot_buckets ORDER BY bucket').pluck().all()).toEqual([
      2515, 3104,
    ]);
  });

  it('applies puts, unconfirms and removes in the order given, counting as upserts and deletes do', () => {
    const db = open();
    const first = new SnapshotBucketChanges('vip');
    first.put('a@x.io', 1, 1, 1);
    first.put('b@x.io', 2, 2, 1);
    first.put('a@x.io', 3, 3, 1); // a later version of the same email wins
    expect(applySnapshotChanges(db, first)).toBe(3);
    expect(everyone(db)).toEqual([
      ['a@x.io', 3, 3, 1],
      ['b@x.io', 2, 2, 1],
    ]);
    const second = new SnapshotBucketChanges('vip');
    second.remove('b@x.io');
    second.remove('nobody@x.io'); // not a member: no change
    second.unconfirm('a@x.io', 2); // keeps the run that confirmed it
    second.unconfirm('c@x.io', 2); // added, with this run
    second.remove('c@x.io');
    second.put('c@x.io', 5, 5, 2);
    expect(applySnapshotChanges(db, second)).toBe(5);
    expect(everyone(db)).toEqual([
      ['a@x.io', 0, 0, 1],
      ['c@x.io', 5, 5, 2],
    ]);
    expect(snapshotBucketMembers(db, 'vip')).toBe(2);
    // Emptied buckets are deleted; other destinations are apart.
    const other = new SnapshotBucketChanges('other');
    other.put('a@x.io', 9, 9, 3);
    applySnapshotChanges(db, other);
    const last = new SnapshotBucketChanges('vip');
    last.remove('a@x.io');
    last.remove('c@x.io');
    expect(applySnapshotChanges(db, last)).toBe(2);
    expect(
      db.prepare("SELECT count(*) FROM export_snapshot_buckets WHERE destination = 'vip'").pluck().get(),
    ).toBe(0);
    expect(snapshotBucketMembers(db, 'vip')).toBe(0);
    expect(everyone(db, 'other')).toEqual([['a@x.io', 9, 9, 3]]);
  });

  it('changes a bucket alike whether it merges many changes or patches a few in', () => {
    const db = open();
    const first = new SnapshotBucketChanges('vip');
    oneBucket.forEach((key, index) => {
      first.put(key, index, index, 1);
    });
    applySnapshotChanges(db, first);
    // A few: an update, a removal (the first member), an added email, an unconfirm.
    const few = new SnapshotBucketChanges('vip');
    few.put(oneBucket[5] as string, 50, 50, 2);
    few.remove(oneBucket[0] as string);
    few.put('new@y.io', 7, 7, 2);
    few.unconfirm(oneBucket[9] as string, 2);
    expect(applySnapshotChanges(db, few)).toBe(4);
    expect(everyone(db).find(([key]) => key === oneBucket[9])).toEqual([oneBucket[9], 0, 0, 1]);
    // Many: every second one removed, the rest updated.
    const many = new SnapshotBucketChanges('vip');
    oneBucket.forEach((key, index) => {
      if (index % 2 === 0) many.remove(key);
      else many.put(key, 100 + index, 1, 3);
    });
    expect(applySnapshotChanges(db, many)).toBe(29); // oneBucket[0] was gone already
    expect(everyone(db).filter(([key]) => String(key).startsWith('q'))).toEqual(
      oneBucket
        .map((key, index) => [key, index] as const)
        .filter(([, index]) => index % 2 === 1)
        .map(([key, index]) => [key, 100 + index, 1, 3])
        .sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1)),
    );
    expect(everyone(db).find(([key]) => key === 'new@y.io')).toEqual(['new@y.io', 7, 7, 2]);
  });

  it('ends where a map applying the same changes one by one ends (property)', () => {
    const email = fc.constantFrom(
      'a@x.io',
      'b@x.io',
      'c@x.io',
      'ü@x.io',
      ...Array.from({ length: 40 }, (_, i) => `p${i}@x.io`),
      // Emails of one bucket: a round then changes it many times (applied by merging its members)
      // or a few (patched in), whether it held members before or not.
      ...oneBucket,
    );
    const change = fc.oneof(
      fc.tuple(fc.constant('put' as const), email, fc.nat(), fc.nat(), fc.nat({ max: 9 })),
      fc.tuple(fc.constant('put' as const), email, fc.nat(), fc.nat(), fc.nat({ max: 9 })),
      fc.tuple(fc.constant('unconfirm' as const), email, fc.constant(0), fc.constant(0), fc.nat({ max: 9 })),
      fc.tuple(fc.constant('remove' as const), email, fc.constant(0), fc.constant(0), fc.constant(0)),
    );
    fc.assert(
      fc.property(fc.array(fc.array(change, { maxLength: 80 }), { maxLength: 5 }), (rounds) => {
        const db = open();
        const model = new Map<string, [number, number, number]>();
        for (const round of rounds) {
          const changes = new SnapshotBucketChanges('vip');
          let expected = 0;
          for (const [kind, key, hi, lo, run] of round) {
            const held = model.get(key);
            if (kind === 'put') {
              // As a string, or as its bytes inside a larger buffer (as the fold gives them).
              if (hi % 2 === 0) changes.put(key, hi, lo, run);
              else {
                const bytes = Buffer.concat([Buffer.from('xx'), Buffer.from(key), Buffer.from('yyy')]);
                changes.putBytes(bytes, 2, bytes.length - 3, hi, lo, run);
              }
              model.set(key, [hi, lo, run]);
              expected += 1;
            } else if (kind === 'unconfirm') {
              changes.unconfirm(key, run);
              model.set(key, [0, 0, held?.[2] ?? run]);
              expected += 1;
            } else {
              changes.remove(key);
              if (held !== undefined) expected += 1;
              model.delete(key);
            }
          }
          expect(applySnapshotChanges(db, changes)).toBe(expected);
        }
        const want = [...model].map(([key, [hi, lo, run]]) => [key, hi, lo, run]);
        want.sort((a, b) => (String(a[0]) < String(b[0]) ? -1 : 1));
        expect(everyone(db)).toEqual(want);
        expect(snapshotBucketMembers(db, 'vip')).toBe(model.size);
      }),
      { numRuns: 300 },
    );
  });
});
