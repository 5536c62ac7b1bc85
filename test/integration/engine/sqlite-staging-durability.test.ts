import { describe, expect, it } from 'vitest';
import { SqliteRunStore } from '../../../src/engine/sqlite';
import { SqliteRunContext } from '../../../src/engine/sqlite/sqlite-run-context';
import { oneContactCounters } from '../../support/activity-counters';
import { openTestState } from '../../support/state-store';

/** Staging commits at synchronous=NORMAL (see `SqliteRunContext.writeUnsynced`), nothing else. */
describe('the SQLite run store: staging commits without a sync of its own', () => {
  const open = async () => {
    const db = (await openTestState()).sqlite;
    db.prepare(
      `INSERT INTO export_checkpoints (run_id, destination, list_id, phase, created_at, updated_at)
       VALUES (1, 'vip', 'list-1', 'planning', 0, 0)`,
    ).run();
    return db;
  };
  const level = (db: Awaited<ReturnType<typeof open>>) => db.pragma('synchronous', { simple: true });

  it('runs the write at NORMAL, then gives the connection its own level (FULL) back', async () => {
    const db = await open();
    const context = new SqliteRunContext(db, () => 0);
    expect(level(db)).toBe(2);
    expect(context.writeUnsynced(1, () => level(db))).toBe(1);
    expect(level(db)).toBe(2);
    // A failed write (its checkpoint gone) gives it back too, and changes nothing.
    expect(() => context.writeUnsynced(2, () => level(db))).toThrow(/lost its checkpoint/);
    expect(level(db)).toBe(2);
    // Inside another transaction the level cannot change: the write joins it at FULL.
    expect(db.transaction(() => context.writeUnsynced(1, () => level(db)))()).toBe(2);
    // The marks that must survive a power loss keep the connection's level.
    expect(context.write(1, () => level(db))).toBe(2);
  });

  it('stages and plans at NORMAL through the store, and leaves the connection at FULL', async () => {
    const db = await open();
    // The level each write ran at, as the statements saw it.
    db.exec(`CREATE TEMP TABLE levels (what TEXT, level INTEGER);
             CREATE TEMP TRIGGER staged AFTER INSERT ON export_run_chunks
             BEGIN INSERT INTO levels SELECT 'stage', synchronous FROM pragma_synchronous; END;
             CREATE TEMP TRIGGER planned AFTER INSERT ON export_import_batches
             BEGIN INSERT INTO levels SELECT 'plan', synchronous FROM pragma_synchronous; END;
             CREATE TEMP TRIGGER sending AFTER UPDATE ON export_import_batches
             BEGIN INSERT INTO levels SELECT 'sending', synchronous FROM pragma_synchronous; END;`);
    const store = new SqliteRunStore(db, () => 0);
    await store.imports.stage(1, [{ seq: 0, emailKey: 'a@x.io', fingerprint: [0, 1], entry: '{}' }]);
    await store.imports.plan(1, 1, { contacts: 1, bodyBytes: 2, firstSeq: 0, lastSeq: 0 });
    await store.imports.markSending(1, 1, 0);
    expect(db.prepare('SELECT what, level FROM levels').raw().all()).toEqual([
      ['stage', 1],
      ['plan', 1],
      ['sending', 2],
    ]);
    expect(level(db)).toBe(2);
  });
});

describe('the SQLite run store: ending a checkpoint', () => {
  const counters = oneContactCounters;
  const staged = (count: number, from = 0) =>
    Array.from({ length: count }, (_, index) => ({
      seq: from + index,
      emailKey: `person${from + index}@example.com`,
      fingerprint: [1, from + index + 1] as const,
      entry: JSON.stringify({ email: `person${from + index}@example.com`, first_name: 'A'.repeat(40) }),
    }));
  /** Frames in the write-ahead log since it was last emptied. */
  const logFrames = (db: Awaited<ReturnType<typeof openTestState>>['sqlite']) =>
    (db.pragma('wal_checkpoint(PASSIVE)') as { log: number }[])[0]?.log ?? -1;

  it('drops the staging of the only staged run by freeing its pages, not rewriting them', async () => {
    const db = (await openTestState()).sqlite;
    const store = new SqliteRunStore(db, () => 0);
    await store.checkpoints.create(1, 'vip', 'list-1');
    await store.imports.stage(1, staged(5_000));
    await store.imports.plan(1, 1, { contacts: 5_000, bodyBytes: 0, firstSeq: 0, lastSeq: 4_999 });
    await store.imports.confirm(1, 'vip', 1, counters, []);
    db.pragma('wal_checkpoint(TRUNCATE)');
    await store.checkpoints.delete(1);
    // The fold writes the snapshot's pages; deleting the ~100 pages of staging row by row would
    // write each of them into the log again.
    const snapshotPages = Number(
      (
        db
          .prepare(
            "SELECT count(*) AS n FROM dbstat WHERE name IN ('export_snapshot_buckets', 'sqlite_autoindex_export_snapshot_buckets_1')",
          )
          .get() as { n: number }
      ).n,
    );
    expect(logFrames(db)).toBeLessThan(snapshotPages + 40);
    expect(await store.snapshots.size('vip')).toBe(5_000);
    expect(db.prepare('SELECT count(*) AS n FROM export_run_chunks').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT count(*) AS n FROM export_import_batches').get()).toEqual({ n: 0 });
    expect(await store.checkpoints.of('vip')).toBeUndefined();
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
  });

  it('stages in chunks of consecutive seqs: every contact, its fingerprint and its entry, each once', async () => {
    const db = (await openTestState()).sqlite;
    const store = new SqliteRunStore(db, () => 0);
    await store.checkpoints.create(1, 'vip', 'list-1');
    const contacts = staged(12_000).map((contact, index) => ({
      ...contact,
      emailKey: index % 7 === 0 ? `jürgen${index}@müller.de` : contact.emailKey,
      fingerprint: [0xffffffff - index, index + 1] as const,
    }));
    // A gap in the seqs starts a chunk, as a full chunk does.
    const withGap = [...contacts.slice(0, 6_000), ...contacts.slice(6_001)];
    await store.imports.stage(1, withGap);
    const chunks = db
      .prepare('SELECT first_seq, last_seq FROM export_run_chunks WHERE run_id = 1 ORDER BY first_seq')
      .raw()
      .all();
    expect(chunks).toEqual([
      [0, 4_999],
      [5_000, 5_999],
      [6_001, 11_000],
      [11_001, 11_999],
    ]);
    await store.imports.plan(1, 1, { contacts: 11_999, bodyBytes: 0, firstSeq: 0, lastSeq: 11_999 });
    expect((await store.imports.data(1, 1)).toString('utf8')).toBe(withGap.map((c) => c.entry).join(','));
    // Unstaged contacts leave the body and the count, wherever they are in a chunk.
    await store.imports.unstage(1, [0, 4_999, 5_000, 7_000, 11_999]);
    await store.imports.plan(1, 2, { contacts: 11_994, bodyBytes: 0, firstSeq: 0, lastSeq: 11_999 });
    const kept = withGap.filter((c) => ![0, 4_999, 5_000, 7_000, 11_999].includes(c.seq));
    expect((await store.imports.data(1, 2)).toString('utf8')).toBe(kept.map((c) => c.entry).join(','));
    // A range inside a chunk.
    await store.imports.plan(1, 3, { contacts: 10, bodyBytes: 0, firstSeq: 100, lastSeq: 109 });
    expect((await store.imports.data(1, 3)).toString('utf8')).toBe(
      withGap
        .slice(100, 110)
        .map((c) => c.entry)
        .join(','),
    );
    // Entries are stored deflated: far fewer bytes than their text.
    const stored = db.prepare('SELECT sum(length(entries)) FROM export_run_chunks').pluck().get() as number;
    expect(stored).toBeLessThan(Buffer.byteLength(withGap.map((c) => c.entry).join(',')) / 2);
    // The fold takes each contact's email and fingerprint as staged.
    await store.imports.confirm(1, 'vip', 2, counters, []);
    await store.checkpoints.delete(1);
    const members = new Map<string, readonly [number, number]>();
    for await (const page of store.snapshots.members('vip'))
      for (const [email, hi, lo] of page) members.set(email, [hi, lo]);
    expect(members.size).toBe(kept.length);
    for (const contact of kept) expect(members.get(contact.emailKey)).toEqual(contact.fingerprint);
  });

  it('keeps the contacts another run staged, and ends a checkpoint left half-deleted', async () => {
    const db = (await openTestState()).sqlite;
    const store = new SqliteRunStore(db, () => 0);
    await store.checkpoints.create(1, 'vip', 'list-1');
    await store.checkpoints.create(2, 'lapsed', 'list-2');
    await store.imports.stage(1, staged(10));
    await store.imports.stage(2, staged(20, 100));
    await store.imports.plan(1, 1, { contacts: 10, bodyBytes: 0, firstSeq: 0, lastSeq: 9 });
    await store.imports.confirm(1, 'vip', 1, counters, []);
    // A crash after the fold and the drop of the staging, before the checkpoint's own delete:
    // deleting it again ends it.
    db.transaction(() => store.imports.foldConfirmed(1, 'vip')).immediate();
    store.imports.dropStaged(1);
    expect(await store.checkpoints.of('vip')).toBeDefined();
    await store.checkpoints.delete(1);
    expect(await store.checkpoints.of('vip')).toBeUndefined();
    expect(await store.snapshots.size('vip')).toBe(10);
    expect(
      db
        .prepare('SELECT run_id, sum(last_seq - first_seq + 1) AS n FROM export_run_chunks GROUP BY run_id')
        .all(),
    ).toEqual([{ run_id: 2, n: 20 }]);
    await store.imports.plan(2, 1, { contacts: 20, bodyBytes: 0, firstSeq: 100, lastSeq: 119 });
    await store.imports.confirm(2, 'lapsed', 1, counters, []);
    await store.checkpoints.delete(2);
    expect(await store.snapshots.size('lapsed')).toBe(20);
    expect(db.prepare('SELECT count(*) AS n FROM export_run_chunks').get()).toEqual({ n: 0 });
  });
});
