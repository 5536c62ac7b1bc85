import { describe, expect, it } from 'vitest';
import type { UnplannedContact } from '../../../src/engine';
import { SqliteRunStore } from '../../../src/engine/sqlite';
import { migrateSqlite } from '../../../src/state';
import { exportctlSqliteMigrations } from '../../../src/wiring';
import { oneContactCounters } from '../../support/activity-counters';
import { openTestState } from '../../support/state-store';

const counters = oneContactCounters;

describe('a state written before staged chunks', () => {
  it('moves an unfinished run’s staged contacts over as they are: it resumes, sends the same bodies and folds the same snapshot', async () => {
    const db = (await openTestState()).sqlite;
    const store = new SqliteRunStore(db, () => 0);
    await store.checkpoints.create(1, 'vip', 'list-1');
    // The previous version's staging: a row per contact, unstaged ones deleted (seq 3 and 7).
    db.exec(`
      DROP TABLE export_run_chunks;
      DROP TABLE export_run_unstaged;
      DELETE FROM schema_migrations WHERE id = 'run-engine-8-staged-chunks';
      CREATE TABLE export_run_contacts (
        run_id INTEGER NOT NULL REFERENCES export_checkpoints (run_id) ON DELETE CASCADE,
        seq INTEGER NOT NULL,
        email_key TEXT NOT NULL,
        fingerprint INTEGER NOT NULL,
        entry TEXT NOT NULL,
        PRIMARY KEY (run_id, seq)
      ) STRICT, WITHOUT ROWID;
    `);
    db.pragma(`user_version = ${exportctlSqliteMigrations.length - 1}`);
    const staged = Array.from({ length: 12_000 }, (_, seq) => seq)
      .filter((seq) => seq !== 3 && seq !== 7)
      .map((seq) => ({
        seq,
        emailKey: seq % 5 === 0 ? `zoë${seq}@example.com` : `p${seq}@example.com`,
        hi: 0xffffffff - seq,
        lo: seq + 1,
        entry: JSON.stringify({ email: `P${seq}@example.com`, first_name: `N${seq % 97}` }),
      }));
    const insert = db.prepare(
      'INSERT INTO export_run_contacts (run_id, seq, email_key, fingerprint, entry) VALUES (1, ?, ?, (? << 32) | ?, ?)',
    );
    db.transaction(() => {
      for (const c of staged) insert.run(c.seq, c.emailKey, c.hi, c.lo, c.entry);
    })();
    // Its first batch was planned and sent, the rest not yet cut.
    db.prepare(
      `INSERT INTO export_import_batches (run_id, batch, contacts, body_bytes, state, submissions, first_seq, last_seq)
       VALUES (1, 1, 4998, 0, 'submitted', 1, 0, 4999)`,
    ).run();
    db.exec("UPDATE export_checkpoints SET phase = 'importing'");

    expect(migrateSqlite(db, exportctlSqliteMigrations, 'state.db', Date.now)).toEqual([
      'run-engine-8-staged-chunks',
    ]);
    expect(
      db.prepare("SELECT count(*) FROM sqlite_schema WHERE name = 'export_run_contacts'").pluck().get(),
    ).toBe(0);

    const entries = (from: number, to: number) =>
      staged
        .filter((c) => c.seq >= from && c.seq <= to)
        .map((c) => c.entry)
        .join(',');
    expect((await store.imports.data(1, 1)).toString('utf8')).toBe(entries(0, 4999));
    const unplanned: UnplannedContact[] = [];
    for await (const page of store.imports.unplanned(1)) unplanned.push(...page);
    expect(unplanned).toEqual(
      staged.filter((c) => c.seq > 4999).map((c) => [c.seq, Buffer.byteLength(c.entry)] as const),
    );
    await store.imports.plan(1, 2, { contacts: 7000, bodyBytes: 0, firstSeq: 5000, lastSeq: 11_999 });
    expect((await store.imports.data(1, 2)).toString('utf8')).toBe(entries(5000, 11_999));
    await store.imports.confirm(1, 'vip', 1, counters, []);
    await store.imports.markSending(1, 2, 1);
    await store.imports.markSubmitted(1, 2, 'act-2', { adopted: false });
    await store.imports.confirm(1, 'vip', 2, counters, []);
    expect(await store.snapshots.size('vip')).toBe(staged.length);
    await store.checkpoints.delete(1);
    const members = new Map<string, readonly [number, number]>();
    for await (const page of store.snapshots.members('vip'))
      for (const [email, hi, lo] of page) members.set(email, [hi, lo]);
    expect(members.size).toBe(staged.length);
    for (const c of staged) expect(members.get(c.emailKey)).toEqual([c.hi, c.lo]);
  });
});
