import { describe, expect, it } from 'vitest';
import { SqliteRunStore } from '../../../src/engine/sqlite';
import { SqliteRunContext } from '../../../src/engine/sqlite/sqlite-run-context';
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
             CREATE TEMP TRIGGER staged AFTER INSERT ON export_run_contacts
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
