import type pg from 'pg';
import { describe, expect, it } from 'vitest';
import { RunEngineError, type RunStore, type SnapshotMember, type StagedContact } from '../../../src/engine';
import { oneContactCounters } from '../../support/activity-counters';
import { postgresRunStores } from '../../support/postgres-run-store';
import { rejectionOf } from '../../support/rejection';

// What only the PostgreSQL run store has to show: the trigger on its state's own `resources` table
// (the contract runs without a control plane) and several runs at once on one database, as
// processes on several hosts run them (the SQLite store has one writer).

const counters = oneContactCounters;

const contacts = (count: number, prefix: string, fingerprintLow = 1): StagedContact[] =>
  Array.from({ length: count }, (_, seq) => ({
    seq,
    emailKey: `${prefix}${String(seq).padStart(6, '0')}@x.io`,
    fingerprint: [seq, fingerprintLow] as const,
    entry: JSON.stringify({ email: `${prefix}${seq}@x.io`, first_name: 'Tab\there "quoted" \\ é' }),
  }));

/** Stages `staged` for a new run of `destination`, plans it in batches of 1,000 and confirms them all. */
async function confirmAll(store: RunStore, runId: number, destination: string, staged: StagedContact[]) {
  await store.checkpoints.create(runId, destination, `list-${destination}`);
  await store.imports.stage(runId, staged);
  for (let first = 0, batch = 1; first < staged.length; first += 1_000, batch++) {
    const last = Math.min(first + 1_000, staged.length) - 1;
    await store.imports.plan(runId, batch, {
      contacts: last - first + 1,
      bodyBytes: 0,
      firstSeq: first,
      lastSeq: last,
    });
    await store.imports.markSending(runId, batch, 0);
    await store.imports.markSubmitted(runId, batch, `act-${runId}-${batch}`, { adopted: false });
    await store.imports.confirm(runId, destination, batch, counters, []);
  }
}

async function members(store: RunStore, destination: string): Promise<SnapshotMember[]> {
  const all: SnapshotMember[] = [];
  for await (const page of store.snapshots.members(destination)) all.push(...page);
  return all;
}

const addDestination = (pool: pg.Pool, name: string, kind = 'ExportDestination') =>
  pool.query(
    `INSERT INTO resources (kind, name, owner, spec, spec_hash, generation, created_at, updated_at)
     VALUES ($1, $2, 'exportctl', '{}', 'h', 1, 0, 0)`,
    [kind, name],
  );
const deleteResource = (pool: pg.Pool, name: string, kind = 'ExportDestination') =>
  pool.query('DELETE FROM resources WHERE kind = $1 AND name = $2', [kind, name]);

describe('the PostgreSQL run store', () => {
  it('stages entries byte for byte (tabs, quotes, backslashes, non-ASCII) and sends them in seq order', async () => {
    const { store } = await postgresRunStores.open();
    const staged = contacts(3, 'a');
    await store.checkpoints.create(1, 'vip', 'list-1');
    await store.imports.stage(1, staged);
    await store.imports.plan(1, 1, { contacts: 3, bodyBytes: 0, firstSeq: 0, lastSeq: 2 });
    expect((await store.imports.data(1, 1)).toString('utf8')).toBe(staged.map((c) => c.entry).join(','));
  });

  it('drops what a deleted ExportDestination had, and nothing of another destination or kind', async () => {
    const { store, pool } = await postgresRunStores.open();
    for (const name of ['vip', 'other']) {
      await addDestination(pool, name);
      await confirmAll(store, name === 'vip' ? 1 : 2, name, contacts(10, name));
      await store.checkpoints.delete(name === 'vip' ? 1 : 2);
      await store.listBaselines.set(name, `list-${name}`, 10);
      await store.unchangedMarks.set(name, 'mark');
    }
    await addDestination(pool, 'vip', 'ProfileSource');
    await store.checkpoints.create(3, 'vip', 'list-vip');
    await store.imports.stage(3, contacts(2, 'new'));

    await deleteResource(pool, 'vip', 'ProfileSource');
    expect(await store.snapshots.size('vip')).toBe(10);
    await deleteResource(pool, 'vip');

    expect(await store.snapshots.size('vip')).toBe(0);
    expect(await store.checkpoints.of('vip')).toBeUndefined();
    // Its unfinished run's staged contacts too (no foreign key cascades there: the trigger does it).
    const staged = await pool.query('SELECT run_id FROM export_run_chunks WHERE run_id = 3');
    expect(staged.rowCount).toBe(0);
    expect(await store.listBaselines.get('vip', 'list-vip')).toBeUndefined();
    expect(await store.unchangedMarks.matches('vip', 'mark')).toBe(false);
    expect(await rejectionOf(store.imports.stage(3, contacts(1, 'late')), RunEngineError)).toMatchObject({
      code: 'destination-replaced',
    });
    // A destination of that name applied again starts from nothing: a mark set before never matches.
    await store.unchangedMarks.set('vip', 'mark');
    expect(await store.unchangedMarks.matches('vip', 'mark')).toBe(true);
    expect(await store.snapshots.size('other')).toBe(10);
    expect(await store.listBaselines.get('other', 'list-other')).toBe(10);
    expect(await store.unchangedMarks.matches('other', 'mark')).toBe(true);
  });

  it('a destination deleted while its run folds: both finish (no deadlock) and nothing of it is left', async () => {
    const { store, pool } = await postgresRunStores.open();
    for (let round = 1; round <= 10; round++) {
      await addDestination(pool, 'vip');
      // A snapshot the fold rewrites, so that the fold and the trigger want the same rows.
      await confirmAll(store, round * 10, 'vip', contacts(3_000, 'm', round));
      await store.checkpoints.delete(round * 10);
      await confirmAll(store, round * 10 + 1, 'vip', contacts(3_000, 'm', round + 100));
      await Promise.all([store.checkpoints.delete(round * 10 + 1), deleteResource(pool, 'vip')]);
      expect(await store.snapshots.size('vip')).toBe(0);
      expect(await store.checkpoints.of('vip')).toBeUndefined();
    }
  });

  it('runs of several destinations at once, on one database, each end with its own exact snapshot', async () => {
    const { store } = await postgresRunStores.open();
    const destinations = ['d1', 'd2', 'd3', 'd4'];
    // Every destination the same emails: one row lock too many, or a shared counter, shows here.
    await Promise.all(
      destinations.map(async (destination, index) => {
        await confirmAll(store, index + 1, destination, contacts(4_000, 'shared', index + 1));
        await store.checkpoints.delete(index + 1);
        const leaving = index + 11;
        await store.checkpoints.create(leaving, destination, `list-${destination}`);
        await store.removals.plan(leaving, ['shared000000@x.io', 'shared000001@x.io']);
        await store.removals.planBatches(leaving, destination, new Map([['shared000000@x.io', 'id-0']]), 500);
        await store.removals.markSubmitted(leaving, 1, `rm-${destination}`);
        await store.removals.confirm(leaving, destination, 1);
        await store.checkpoints.delete(leaving);
        await store.unchangedMarks.set(destination, 'mark');
      }),
    );
    for (const [index, destination] of destinations.entries()) {
      // In bucket order: sorted here.
      const all = (await members(store, destination)).sort(([a], [b]) => (a < b ? -1 : 1));
      expect(all).toHaveLength(3_998);
      expect(all[0]).toEqual(['shared000002@x.io', 2, index + 1]);
      expect(await store.unchangedMarks.matches(destination, 'mark')).toBe(true);
    }
    expect((await store.claims.known()).size).toBe(4 * 4 + 4);
  });

  it('ends a run without touching the staged contacts of another destination’s unfinished run', async () => {
    const { store } = await postgresRunStores.open();
    await store.checkpoints.create(1, 'paused', 'list-p');
    await store.imports.stage(1, contacts(3, 'p'));
    await store.imports.plan(1, 1, { contacts: 3, bodyBytes: 0, firstSeq: 0, lastSeq: 2 });
    await confirmAll(store, 2, 'vip', contacts(2_000, 'v'));
    await store.checkpoints.delete(2);
    expect(await store.snapshots.size('vip')).toBe(2_000);
    expect((await store.imports.data(1, 1)).toString('utf8')).toBe(
      contacts(3, 'p')
        .map((c) => c.entry)
        .join(','),
    );
    // The last run's end empties the staging.
    await store.checkpoints.delete(1);
    expect(await store.snapshots.size('paused')).toBe(0);
    await confirmAll(store, 3, 'vip', contacts(10, 'w'));
    await store.checkpoints.delete(3);
    expect(await store.snapshots.size('vip')).toBe(2_010);
  });

  it('counts confirmed batches as the snapshot’s while the run goes on, and folds them into its buckets at the end', async () => {
    const { store, pool } = await postgresRunStores.open();
    const membersOf = async (destination: string) =>
      Number(
        (
          await pool.query(
            'SELECT coalesce(sum(members), 0) AS n FROM export_snapshot_buckets WHERE destination = $1',
            [destination],
          )
        ).rows[0].n,
      );
    await confirmAll(store, 1, 'vip', contacts(2_500, 'f'));
    expect(await membersOf('vip')).toBe(0);
    expect(await store.snapshots.size('vip')).toBe(2_500);
    await store.checkpoints.delete(1);
    expect(await membersOf('vip')).toBe(2_500);
    expect(await members(store, 'vip')).toHaveLength(2_500);

    // Batches confirmed one at a time (and one an older version marked folded): counted as they
    // are, the members already in the snapshot once; all of them in the buckets at the end.
    await store.checkpoints.create(2, 'vip', 'list-vip');
    await store.imports.stage(2, contacts(1_500, 'f', 7));
    await store.imports.plan(2, 1, { contacts: 1_000, bodyBytes: 0, firstSeq: 0, lastSeq: 999 });
    await store.imports.plan(2, 2, { contacts: 500, bodyBytes: 0, firstSeq: 1_000, lastSeq: 1_499 });
    await store.imports.confirm(2, 'vip', 2, counters, []);
    expect(await store.snapshots.size('vip')).toBe(2_500);
    await pool.query(
      `UPDATE export_import_batches SET state = 'confirmed', counters = '{}', errors = '[]', folded = true
       WHERE run_id = 2 AND batch = 1`,
    );
    expect(await store.snapshots.size('vip')).toBe(2_500);
    await store.checkpoints.delete(2);
    const folded = await members(store, 'vip');
    expect(folded).toHaveLength(2_500);
    expect(folded.filter(([, , low]) => low === 7)).toHaveLength(1_500);
  });

  // Last in the file: it restarts the file's server.
  it('works on after the server restarted between two calls: a checkpoint and its staged contacts kept', async () => {
    const { store } = await postgresRunStores.open();
    await store.checkpoints.create(1, 'vip', 'list-1');
    await store.imports.stage(1, contacts(500, 'r'));
    await (await postgresRunStores.server()).restart();
    await store.imports.plan(1, 1, { contacts: 500, bodyBytes: 0, firstSeq: 0, lastSeq: 499 });
    expect(await store.checkpoints.of('vip')).toMatchObject({ runId: 1, phase: 'planning' });
    expect((await store.imports.data(1, 1)).toString('utf8').split('},{')).toHaveLength(500);
  });
});
