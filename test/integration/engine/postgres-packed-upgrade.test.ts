import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { RunStore, UnplannedContact } from '../../../src/engine';
import { runEnginePostgresMigrations } from '../../../src/engine/postgres';
import { decodeSnapshotBucket } from '../../../src/engine/snapshot-buckets';
import { joinFingerprint } from '../../../src/engine/snapshot-fingerprint';
import { oneContactCounters } from '../../support/activity-counters';
import { engineFixture, exportWorld, importedItems } from '../../support/export-world';
import { postgresRunStores } from '../../support/postgres-run-store';

const counters = oneContactCounters;
const packing = 'run-engine-5-packed-snapshots-and-staging';

/** The tables as the version before `run-engine-5-packed-…` had them (after `run-engine-4-…`). */
const rowTables = `
  DROP TABLE export_snapshot_buckets;
  DROP TABLE export_run_chunks;
  DROP TABLE export_run_unstaged;
  CREATE TABLE export_snapshots (
    destination text NOT NULL,
    email_key text COLLATE "C" NOT NULL,
    fingerprint bigint NOT NULL,
    confirmed_run bigint NOT NULL,
    PRIMARY KEY (destination, email_key)
  );
  CREATE TABLE export_run_contacts (
    run_id bigint NOT NULL,
    seq integer NOT NULL,
    email_key text COLLATE "C" NOT NULL,
    fingerprint bigint NOT NULL,
    entry text NOT NULL,
    PRIMARY KEY (run_id, seq)
  );`;

/** Runs the packing migration as the state's migrator does: in a transaction of its own. */
async function pack(pool: pg.Pool): Promise<void> {
  const migration = runEnginePostgresMigrations.find((m) => m.id === packing);
  if (migration === undefined) throw new Error(`no migration ${packing}`);
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await migration.up(client);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}

async function snapshotMembers(store: RunStore, destination: string): Promise<Map<string, [number, number]>> {
  const members = new Map<string, [number, number]>();
  for await (const page of store.snapshots.members(destination))
    for (const [email, hi, lo] of page) members.set(email, [hi, lo]);
  return members;
}

describe('a PostgreSQL state written before packed snapshots and staging', () => {
  it('upgrades in place, and its first run sends nothing when nothing changed', async () => {
    let opened: Awaited<ReturnType<typeof postgresRunStores.open>> | undefined;
    const w = await exportWorld(engineFixture('mixed-rows'), {
      runStore: {
        name: 'PostgreSQL',
        open: async () => {
          opened = await postgresRunStores.open();
          return opened.store;
        },
      },
    });
    if (opened === undefined) throw new Error('the world opened no run store');
    const { store, pool } = opened;
    await w.apply();
    expect((await w.run('vip')).run.status).toBe('succeeded');
    const buckets = await pool.query<{ destination: string; data: Buffer }>(
      'SELECT destination, data FROM export_snapshot_buckets',
    );
    const rows = buckets.rows.flatMap(({ destination, data }) => {
      const members = decodeSnapshotBucket(data);
      return members.keys.map((key, index) => [
        destination,
        key,
        joinFingerprint(members.hi[index] as number, members.lo[index] as number).toString(),
        members.runs[index] as number,
      ]);
    });
    const before = await snapshotMembers(store, 'vip');
    expect(before.size).toBeGreaterThan(0);

    // The previous version's tables, with the snapshot as it kept it; its mark gone, so that the
    // rerun reads and compares rather than recording unchanged at once.
    await pool.query(rowTables);
    await pool.query(
      `INSERT INTO export_snapshots (destination, email_key, fingerprint, confirmed_run)
       SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[])`,
      [rows.map((r) => r[0]), rows.map((r) => r[1]), rows.map((r) => r[2]), rows.map((r) => r[3])],
    );
    await pool.query('DELETE FROM export_unchanged_marks');
    await pack(pool);
    const tables = await pool.query(
      `SELECT count(*)::int AS n FROM pg_tables
       WHERE schemaname = current_schema() AND tablename IN ('export_snapshots', 'export_run_contacts')`,
    );
    expect(tables.rows[0].n).toBe(0);
    expect(await snapshotMembers(store, 'vip')).toEqual(before);

    const sent = importedItems(w.sandbox);
    const rerun = await w.run('vip');
    expect(rerun.run.status).toBe('succeeded');
    expect(rerun.record.skipped).toBeNull();
    expect(rerun.record.counts).toMatchObject({ added: 0, updated: 0, unchanged: before.size });
    expect(rerun.record.batches.imports).toBe(0);
    expect(importedItems(w.sandbox)).toBe(sent);
  });

  it('moves an unfinished run’s staged contacts over as they are: it resumes, sends the same bodies and folds the same snapshot', async () => {
    const { store, pool } = await postgresRunStores.open();
    await store.checkpoints.create(1, 'vip', 'list-1');
    await pool.query(rowTables);
    // The previous version's staging: a row per contact, unstaged ones deleted (seq 3 and 7),
    // fingerprints with the high bit set, non-ASCII emails.
    const staged = Array.from({ length: 12_000 }, (_, seq) => seq)
      .filter((seq) => seq !== 3 && seq !== 7)
      .map((seq) => ({
        seq,
        emailKey: seq % 5 === 0 ? `zoë${seq}@example.com` : `p${seq}@example.com`,
        hi: 0xffffffff - seq,
        lo: seq + 1,
        entry: JSON.stringify({ email: `P${seq}@example.com`, first_name: `N${seq % 97} "é"\t` }),
      }));
    await pool.query(
      `INSERT INTO export_run_contacts (run_id, seq, email_key, fingerprint, entry)
       SELECT 1, * FROM unnest($1::int[], $2::text[], $3::bigint[], $4::text[])`,
      [
        staged.map((c) => c.seq),
        staged.map((c) => c.emailKey),
        staged.map((c) => joinFingerprint(c.hi, c.lo).toString()),
        staged.map((c) => c.entry),
      ],
    );
    // Its first batch was planned and sent, the rest not yet cut.
    await pool.query(
      `INSERT INTO export_import_batches (run_id, batch, contacts, body_bytes, state, submissions, first_seq, last_seq)
       VALUES (1, 1, 4998, 0, 'submitted', 1, 0, 4999)`,
    );
    await pool.query("UPDATE export_checkpoints SET phase = 'importing'");
    await pack(pool);

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
    const members = await snapshotMembers(store, 'vip');
    expect(members.size).toBe(staged.length);
    for (const c of staged) expect(members.get(c.emailKey)).toEqual([c.hi, c.lo]);
    const left = await pool.query('SELECT count(*)::int AS n FROM export_run_chunks');
    expect(left.rows[0].n).toBe(0);
  });
});
