import { describe, expect, it } from 'vitest';
import {
  RunEngineError,
  type RunStore,
  type StagedContact,
  type StagedContactRow,
} from '../../../src/engine';
import { runStoreFor } from '../../../src/wiring';
import { rejectionOf } from '../../support/rejection';
import { openTestState } from '../../support/state-store';

/**
 * The run store port's contract (src/engine/run-store.ts), stated through the port alone: every
 * backend runs this suite with a factory that opens an empty, migrated store of its own.
 */
export function describeRunStoreContract(backend: string, open: () => Promise<RunStore>): void {
  const counters = {
    items_total_count: 2,
    items_completed_count: 2,
    person_count: 2,
    error_count: 0,
    correctable_count: 0,
    cannot_add_to_list_count: 0,
    list_count: 1,
  };
  const contact = (emailKey: string, key: string, first = 'A', position = 1): StagedContact => ({
    emailKey,
    key,
    entry: JSON.stringify({ email: emailKey, first_name: first }),
    fingerprint: `${emailKey}|${first}`,
    position,
  });
  const where = { file: 'profiles.csv', line: 2 };
  const allRows = async (pages: AsyncGenerator<StagedContactRow[]>) => {
    const rows: StagedContactRow[] = [];
    for await (const page of pages) rows.push(...page);
    return rows;
  };

  /** Plans and confirms one batch of `contacts` for run `runId`: they enter the snapshot. */
  const confirmRun = async (store: RunStore, runId: number, contacts: readonly StagedContact[]) => {
    await store.checkpoints.create(runId, 'vip', 'list-1');
    const staging = await store.openStaging(runId, 'vip');
    await staging.add(contacts, where);
    await staging.seal();
    const sorted = [...contacts].sort((a, b) => (a.emailKey < b.emailKey ? -1 : 1));
    await staging.storeImportBatch(
      1,
      {
        contacts: sorted.length,
        bodyBytes: 0,
        firstEmail: sorted[0]?.emailKey ?? '',
        lastEmail: sorted.at(-1)?.emailKey ?? '',
      },
      true,
    );
    await staging.drop();
    await store.imports.confirm(runId, 'vip', 1, counters, []);
    await store.checkpoints.delete(runId);
  };

  describe(`the run store port (${backend})`, () => {
    it('keeps one checkpoint per destination and refuses a run’s writes once it is gone', async () => {
      const store = await open();
      expect(await store.checkpoints.of('vip')).toBeUndefined();
      await store.checkpoints.create(1, 'vip', 'list-1');
      expect(await store.checkpoints.of('vip')).toEqual({
        runId: 1,
        destination: 'vip',
        listId: 'list-1',
        phase: 'planning',
        removalsLookedUp: false,
      });
      await store.checkpoints.setPhase(1, 'importing');
      expect((await store.checkpoints.of('vip'))?.phase).toBe('importing');
      await store.checkpoints.delete(1);
      expect(await store.checkpoints.of('vip')).toBeUndefined();
      expect(await rejectionOf(store.checkpoints.setPhase(1, 'removing'), RunEngineError)).toMatchObject({
        code: 'destination-replaced',
      });
      expect(await rejectionOf(store.imports.markSending(1, 1, 0), RunEngineError)).toMatchObject({
        code: 'destination-replaced',
      });
    });

    it('stages in (email, key) order, dedupes by dropping losers, and stores exact batches', async () => {
      const store = await open();
      await store.checkpoints.create(1, 'vip', 'list-1');
      const staging = await store.openStaging(1, 'vip');
      await staging.add([contact('c@x.io', 'k3'), contact('a@x.io', 'k9', 'Ann', 2)], where);
      await staging.add([contact('a@x.io', 'k1', 'Al', 3), contact('b@x.io', 'k2', 'Bo', 4)], where);
      expect(staging.size).toBe(4);
      await staging.seal();
      expect(await staging.distinctEmails()).toBe(3);
      const rows = await allRows(staging.pages());
      expect(rows.map((row) => [row[0], row[1], row[3]])).toEqual([
        ['a@x.io', 'k1', 0],
        ['a@x.io', 'k9', 0],
        ['b@x.io', 'k2', 0],
        ['c@x.io', 'k3', 0],
      ]);
      expect(staging.rowLocation(rows[1] as StagedContactRow)).toEqual({ file: 'profiles.csv', line: 2 });
      expect(await staging.dropLoser(rows[1] as StagedContactRow)).toBe('a@x.io');
      // A batch that disagrees with the staging stores nothing.
      const wrong = { contacts: 4, bodyBytes: 10, firstEmail: 'a@x.io', lastEmail: 'c@x.io' };
      await expect(staging.storeImportBatch(1, wrong, false)).rejects.toThrow();
      expect(await store.imports.batches(1)).toEqual([]);
      await staging.storeImportBatch(1, { ...wrong, contacts: 2, lastEmail: 'b@x.io' }, false);
      await staging.storeImportBatch(
        2,
        { contacts: 1, bodyBytes: 5, firstEmail: 'c@x.io', lastEmail: 'c@x.io', keys: [['c@x.io', 'k3']] },
        false,
      );
      await staging.drop();
      await staging.drop();
      const batches = await store.imports.batches(1);
      expect(batches.map((batch) => [batch.batch, batch.contacts, batch.state, batch.submissions])).toEqual([
        [1, 2, 'planned', 0],
        [2, 1, 'planned', 0],
      ]);
      expect(JSON.parse(`[${(await store.imports.data(1, 1)).toString('utf8')}]`)).toEqual([
        { email: 'a@x.io', first_name: 'Al' },
        { email: 'b@x.io', first_name: 'Bo' },
      ]);
    });

    it('confirms a batch into the snapshot, claims its activity, and the next run diffs against it', async () => {
      const store = await open();
      await store.checkpoints.create(1, 'vip', 'list-1');
      const staging = await store.openStaging(1, 'vip');
      await staging.add([contact('a@x.io', 'k1'), contact('b@x.io', 'k2')], where);
      await staging.seal();
      await staging.storeImportBatch(
        1,
        { contacts: 2, bodyBytes: 0, firstEmail: 'a', lastEmail: 'z' },
        false,
      );
      await staging.drop();
      await store.imports.markSending(1, 1, 1234);
      expect((await store.imports.batches(1))[0]).toMatchObject({
        state: 'sending',
        sentAt: 1234,
        submissions: 1,
      });
      await store.imports.markSubmitted(1, 1, 'act-1', { adopted: true });
      expect((await store.imports.batches(1))[0]).toMatchObject({
        state: 'submitted',
        activityId: 'act-1',
        adopted: true,
      });
      expect(await store.snapshots.size('vip')).toBe(0);
      await store.imports.confirm(1, 'vip', 1, { ...counters, cannot_add_to_list_count: 1 }, []);
      expect(await store.imports.totals(1)).toEqual({
        batches: 1,
        confirmedBatches: 1,
        plannedContacts: 2,
        imported: 2,
        unsubscribed: 1,
        rejected: 0,
      });
      expect(await store.snapshots.size('vip')).toBe(2);
      await store.checkpoints.delete(1);
      expect(await store.claims.known()).toEqual(new Set(['act-1']));

      await store.checkpoints.create(2, 'vip', 'list-1');
      const next = await store.openStaging(2, 'vip');
      await next.add(
        [contact('a@x.io', 'k1'), contact('b@x.io', 'k2', 'Changed'), contact('c@x.io', 'k3')],
        where,
      );
      await next.seal();
      expect((await allRows(next.pages())).map((row) => [row[0], row[3]])).toEqual([
        ['a@x.io', 1],
        ['b@x.io', 2],
        ['c@x.io', 0],
      ]);
      // Only the changed and new contacts of the range are stored.
      await next.storeImportBatch(1, { contacts: 2, bodyBytes: 0, firstEmail: 'a', lastEmail: 'z' }, false);
      expect(JSON.parse(`[${(await store.imports.data(2, 1)).toString('utf8')}]`)).toEqual([
        { email: 'b@x.io', first_name: 'Changed' },
        { email: 'c@x.io', first_name: 'A' },
      ]);
      await next.drop();
    });

    it('plans removals of leavers, drops those not on the list, and confirms the rest out of the snapshot', async () => {
      const store = await open();
      await confirmRun(store, 1, [contact('a@x.io', 'k1'), contact('b@x.io', 'k2'), contact('c@x.io', 'k3')]);
      await store.checkpoints.create(2, 'vip', 'list-1');
      const staging = await store.openStaging(2, 'vip');
      await staging.add([contact('a@x.io', 'k1')], where);
      await staging.seal();
      expect(await staging.leavers()).toBe(2);
      expect(await staging.leaversOnList(new Map([['b@x.io', 'id-b']]))).toBe(1);
      expect(await staging.storeRemovals()).toBe(2);
      await staging.drop();
      expect(await store.removals.emails(2)).toEqual(['b@x.io', 'c@x.io']);
      await store.removals.planBatches(2, 'vip', new Map([['b@x.io', 'id-b']]), 500);
      expect(await store.checkpoints.of('vip')).toMatchObject({ phase: 'removing', removalsLookedUp: true });
      expect(await store.snapshots.size('vip')).toBe(2);
      const [batch] = await store.removals.batches(2);
      expect(batch).toMatchObject({ batch: 1, contacts: 1, state: 'planned', submissions: 0 });
      expect(await store.removals.contactIds(2, 1)).toEqual(['id-b']);
      await store.removals.markSubmitted(2, 1, 'rm-1');
      await store.removals.markPlanned(2, 1);
      await store.removals.markSubmitted(2, 1, 'rm-2');
      await store.removals.confirm(2, 'vip', 1);
      expect(await store.removals.totals(2)).toEqual({
        planned: 2,
        batches: 1,
        confirmedBatches: 1,
        removed: 2,
        notOnList: 1,
      });
      expect(await store.snapshots.size('vip')).toBe(1);
      expect(await store.claims.known()).toEqual(new Set(['rm-1', 'rm-2']));
    });

    it('keeps sent but unconfirmed contacts in the snapshot as changed', async () => {
      const store = await open();
      await store.checkpoints.create(1, 'vip', 'list-1');
      const staging = await store.openStaging(1, 'vip');
      await staging.add([contact('a@x.io', 'k1'), contact('b@x.io', 'k2')], where);
      await staging.seal();
      await staging.storeImportBatch(
        1,
        { contacts: 1, bodyBytes: 0, firstEmail: 'a', lastEmail: 'a~' },
        false,
      );
      await staging.storeImportBatch(
        2,
        { contacts: 1, bodyBytes: 0, firstEmail: 'b', lastEmail: 'b~' },
        false,
      );
      await staging.drop();
      await store.imports.markSending(1, 1, 0);
      expect(await store.checkpoints.keepUnconfirmedSends(1, 'vip')).toBe(1);
      await store.checkpoints.delete(1);
      expect(await store.snapshots.size('vip')).toBe(1);
      await store.checkpoints.create(2, 'vip', 'list-1');
      const next = await store.openStaging(2, 'vip');
      await next.add([contact('a@x.io', 'k1')], where);
      await next.seal();
      expect((await allRows(next.pages())).map((row) => row[3])).toEqual([2]);
      await next.drop();
    });

    it('holds the snapshot against the list and keeps list baselines', async () => {
      const store = await open();
      await confirmRun(store, 1, [contact('a@x.io', 'k1'), contact('b@x.io', 'k2')]);
      expect(await store.snapshots.reconcileWithList('vip', ['a@x.io', 'hand@x.io'])).toEqual({
        missing: 1,
        notExportctls: 1,
      });
      expect(await store.snapshots.size('vip')).toBe(1);
      expect(await store.listBaselines.get('vip', 'list-1')).toBeUndefined();
      await store.listBaselines.set('vip', 'list-1', 7);
      expect(await store.listBaselines.get('vip', 'list-1')).toBe(7);
      expect(await store.listBaselines.get('vip', 'list-2')).toBeUndefined();
      await store.listBaselines.drop('vip');
      expect(await store.listBaselines.get('vip', 'list-1')).toBeUndefined();
      await store.compact();
    });
  });
}

describeRunStoreContract('SQLite', async () => runStoreFor(await openTestState()));
