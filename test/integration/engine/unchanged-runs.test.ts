import { readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { engineFixture, exportWorld, importedItems } from '../../support/export-world';
import { runStoreBackends } from '../../support/run-store-backends';

describe.each(runStoreBackends)('a run with nothing to do, run store: $name', (runStore) => {
  it('records unchanged after the one list request, without reading; any change makes it run', async () => {
    const w = await exportWorld(engineFixture('mixed-rows'), { runStore });
    await w.apply();
    const first = await w.run('vip');
    expect(first.run.status).toBe('succeeded');
    const before = importedItems(w.sandbox);

    // The same bytes with a new modification time: still nothing to do.
    const profiles = join(w.dataFolder, 'profiles.csv');
    utimesSync(profiles, new Date(), new Date(Date.now() + 5_000));
    const skipped = await w.run('vip');
    expect(skipped.run.status).toBe('succeeded');
    expect(skipped.record.skipped).toBe('unchanged');
    expect(skipped.record.counts).toMatchObject({ read: 0, contacts: 7, unchanged: 7, imported: 0 });
    expect(skipped.record.apiCalls.writes).toBe(0);
    expect(Object.keys(skipped.record.apiCalls.byPhase.preflight ?? {})).toEqual([
      'GET /contact_lists/{list_id}',
    ]);
    expect(Object.keys(skipped.record.apiCalls.byPhase).filter((phase) => phase !== 'preflight')).toEqual([]);
    expect(importedItems(w.sandbox)).toBe(before);

    // With the mark gone it compares every contact, and finds them unchanged.
    await w.runStore.unchangedMarks.drop('vip');
    const compared = await w.run('vip');
    expect(compared.record.skipped).toBeNull();
    expect(compared.record.counts).toMatchObject({ added: 0, updated: 0, unchanged: 7, imported: 0 });
    expect((await w.run('vip')).record.skipped).toBe('unchanged');

    // --full never skips.
    expect((await w.run('vip', { full: true })).record.counts).toMatchObject({ imported: 7 });

    // A changed name: it runs and sends that contact.
    writeFileSync(
      profiles,
      readFileSync(profiles, 'utf8').replace('Rosalind,Johnson', 'Rosalind,Johnson-Smith'),
    );
    const changed = await w.run('vip');
    expect(changed.record.skipped).toBeNull();
    expect(changed.record.counts).toMatchObject({ updated: 1, imported: 1 });
    expect((await w.run('vip')).record.skipped).toBe('unchanged');
    // The snapshot changed since (here: held against a list that lacks a member; the two
    // unsubscribed contacts, never on it, leave the snapshot too): it runs.
    const members = w.members();
    await w.runStore.snapshots.reconcileWithList('vip', members.slice(1));
    const afterSnapshotChange = await w.run('vip');
    expect(afterSnapshotChange.record.skipped).toBeNull();
    expect(afterSnapshotChange.record.counts).toMatchObject({ read: 11, added: 3, unchanged: 4 });
  });
});
