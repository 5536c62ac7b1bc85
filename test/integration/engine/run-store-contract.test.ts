import { describe, expect, it } from 'vitest';
import {
  type RowIssueLine,
  RunEngineError,
  type RunStore,
  type SnapshotMember,
  type StagedContact,
} from '../../../src/engine';
import { SnapshotBucketChanges } from '../../../src/engine/snapshot-buckets';
import { runStoreFor } from '../../../src/wiring';
import { postgresRunStores } from '../../support/postgres-run-store';
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
  const contact = (
    seq: number,
    emailKey: string,
    first = 'A',
    fingerprint: readonly [number, number] = [0, seq + 1],
  ): StagedContact => ({
    seq,
    emailKey,
    fingerprint,
    entry: JSON.stringify({ email: emailKey, first_name: first }),
  });
  /** Every member, in email order (a store pages them in an order of its own). */
  const members = async (store: RunStore, destination = 'vip') => {
    const all: SnapshotMember[] = [];
    for await (const page of store.snapshots.members(destination)) all.push(...page);
    return all.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  };
  const issue = (n: number, change: Partial<RowIssueLine> = {}): RowIssueLine => ({
    key: `C${n}`,
    field: 'EmailAddress',
    reason: `profiles.csv:${n}: C${n} has an email address that is not valid`,
    where: `profiles.csv:${n}`,
    severity: 'error',
    code: 'invalid-email',
    ...change,
  });
  const issuePages = async (store: RunStore, runId: number, pageSize?: number) => {
    const pages: (readonly RowIssueLine[])[] = [];
    for await (const page of store.rowIssues.read(runId, pageSize)) pages.push(page);
    return pages;
  };
  const body = async (store: RunStore, runId: number, batch: number) =>
    JSON.parse(`[${(await store.imports.data(runId, batch)).toString('utf8')}]`);

  /** Stages, plans and confirms one batch of `contacts` for run `runId`, then ends the run. */
  const confirmRun = async (store: RunStore, runId: number, contacts: readonly StagedContact[]) => {
    await store.checkpoints.create(runId, 'vip', 'list-1');
    await store.imports.stage(runId, contacts);
    const seqs = contacts.map((staged) => staged.seq);
    await store.imports.plan(runId, 1, {
      contacts: contacts.length,
      bodyBytes: 0,
      firstSeq: Math.min(...seqs),
      lastSeq: Math.max(...seqs),
    });
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
      // One at a time: a networked store's refusals of writes started together could arrive before
      // the loop awaits them (unhandled rejections).
      for (const write of [
        () => store.checkpoints.setPhase(1, 'removing'),
        () => store.imports.markSending(1, 1, 0),
        () => store.imports.stage(1, [contact(0, 'a@x.io')]),
        () => store.removals.plan(1, ['a@x.io']),
      ]) {
        expect(await rejectionOf(write(), RunEngineError)).toMatchObject({ code: 'destination-replaced' });
      }
    });

    it('stores a batch as a range of staged contacts, and refuses one the staging disagrees with', async () => {
      const store = await open();
      await store.checkpoints.create(1, 'vip', 'list-1');
      await store.imports.stage(1, [
        contact(0, 'c@x.io'),
        contact(1, 'a@x.io', 'Ann'),
        contact(2, 'b@x.io', 'Bo'),
      ]);
      await store.imports.stage(1, [contact(3, 'd@x.io')]);
      await store.imports.unstage(1, [1]);
      const wrong = { contacts: 3, bodyBytes: 10, firstSeq: 0, lastSeq: 2 };
      await expect(store.imports.plan(1, 1, wrong)).rejects.toThrow();
      expect(await store.imports.batches(1)).toEqual([]);
      await store.imports.plan(1, 1, { ...wrong, contacts: 2 });
      await store.imports.plan(1, 2, { contacts: 1, bodyBytes: 5, firstSeq: 3, lastSeq: 3 });
      expect(await store.imports.batches(1)).toEqual([
        {
          batch: 1,
          contacts: 2,
          bodyBytes: 10,
          state: 'planned',
          submissions: 0,
          sentAt: undefined,
          activityId: undefined,
          adopted: false,
        },
        {
          batch: 2,
          contacts: 1,
          bodyBytes: 5,
          state: 'planned',
          submissions: 0,
          sentAt: undefined,
          activityId: undefined,
          adopted: false,
        },
      ]);
      // In staging order, as sent, the same bytes on every call.
      expect(await body(store, 1, 1)).toEqual([
        { email: 'c@x.io', first_name: 'A' },
        { email: 'b@x.io', first_name: 'Bo' },
      ]);
      expect((await store.imports.data(1, 1)).equals(await store.imports.data(1, 1))).toBe(true);
    });

    it('gives the staged contacts no batch holds yet, with the bytes of their entries, in staging order', async () => {
      const store = await open();
      const unplanned = async (runId: number) => {
        const all: (readonly [number, number])[] = [];
        for await (const page of store.imports.unplanned(runId)) all.push(...page);
        return all;
      };
      await store.checkpoints.create(1, 'vip', 'list-1');
      expect(await unplanned(1)).toEqual([]);
      const staged = [contact(0, 'c@x.io'), contact(1, 'a@x.io', 'Ann'), contact(2, 'b@x.io', 'Bö')];
      await store.imports.stage(1, staged);
      await store.imports.stage(1, [contact(3, 'd@x.io')]);
      await store.imports.unstage(1, [1]);
      const bytes = (seq: number) => Buffer.byteLength((staged[seq] ?? contact(3, 'd@x.io')).entry);
      expect(await unplanned(1)).toEqual([
        [0, bytes(0)],
        [2, bytes(2)],
        [3, bytes(3)],
      ]);
      await store.imports.plan(1, 1, { contacts: 2, bodyBytes: 10, firstSeq: 0, lastSeq: 2 });
      expect(await unplanned(1)).toEqual([[3, bytes(3)]]);
      await store.imports.plan(1, 2, { contacts: 1, bodyBytes: 5, firstSeq: 3, lastSeq: 3 });
      expect(await unplanned(1)).toEqual([]);
      expect(await unplanned(2)).toEqual([]);
    });

    it('confirms by marking: the contacts are in the snapshot from then on, and in its members once the run ends', async () => {
      const store = await open();
      await store.checkpoints.create(1, 'vip', 'list-1');
      await store.imports.stage(1, [contact(0, 'b@x.io'), contact(1, 'a@x.io')]);
      await store.imports.plan(1, 1, { contacts: 2, bodyBytes: 0, firstSeq: 0, lastSeq: 1 });
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
      expect(await store.snapshots.size('vip')).toBe(2);
      expect(await members(store)).toEqual([
        ['a@x.io', 0, 2],
        ['b@x.io', 0, 1],
      ]);
      expect(await store.claims.known()).toEqual(new Set(['act-1']));
      // A later run's confirmed change replaces the fingerprint; an unconfirmed batch changes nothing.
      await store.checkpoints.create(2, 'vip', 'list-1');
      await store.imports.stage(2, [
        contact(0, 'a@x.io', 'Al', [0xffffffff, 0xfffffffb]),
        contact(1, 'z@x.io'),
      ]);
      await store.imports.plan(2, 1, { contacts: 1, bodyBytes: 0, firstSeq: 0, lastSeq: 0 });
      await store.imports.plan(2, 2, { contacts: 1, bodyBytes: 0, firstSeq: 1, lastSeq: 1 });
      await store.imports.confirm(2, 'vip', 1, counters, []);
      await store.checkpoints.delete(2);
      expect(await members(store)).toEqual([
        ['a@x.io', 0xffffffff, 0xfffffffb],
        ['b@x.io', 0, 1],
      ]);
    });

    it('counts an email its batches hold twice once, and ends with its later version', async () => {
      const store = await open();
      await store.checkpoints.create(1, 'vip', 'list-1');
      // a@x.io twice: a later profile won the dedupe after the first one's batch was cut.
      await store.imports.stage(1, [
        contact(0, 'a@x.io', 'Old'),
        contact(1, 'b@x.io'),
        contact(2, 'a@x.io', 'New'),
      ]);
      await store.imports.plan(1, 1, { contacts: 2, bodyBytes: 0, firstSeq: 0, lastSeq: 1 });
      await store.imports.plan(1, 2, { contacts: 1, bodyBytes: 0, firstSeq: 2, lastSeq: 2 });
      await store.imports.confirm(1, 'vip', 1, counters, []);
      expect(await store.snapshots.size('vip')).toBe(2);
      await store.imports.confirm(1, 'vip', 2, counters, []);
      expect(await store.snapshots.size('vip')).toBe(2);
      await store.checkpoints.delete(1);
      expect(await members(store)).toEqual([
        ['a@x.io', 0, 3],
        ['b@x.io', 0, 2],
      ]);
    });

    it('pages the snapshot’s members, each once, with 64-bit fingerprints intact', async () => {
      const store = await open();
      const many = Array.from({ length: 25_001 }, (_, index) =>
        contact(index, `m${String(index).padStart(6, '0')}@x.io`, 'A', [
          0x80000000 + index,
          0xffffffff - index,
        ]),
      );
      await confirmRun(store, 1, many);
      const pages: number[] = [];
      for await (const page of store.snapshots.members('vip')) pages.push(page.length);
      expect(pages.length).toBeGreaterThan(1);
      const all = await members(store);
      expect(all).toHaveLength(25_001);
      expect(new Set(all.map(([email]) => email)).size).toBe(25_001);
      expect(all[0]).toEqual(['m000000@x.io', 0x80000000, 0xffffffff]);
      expect(all.at(-1)).toEqual(['m025000@x.io', 0x80000000 + 25_000, 0xffffffff - 25_000]);
      expect(await members(store, 'other')).toEqual([]);
      // Packed, when the store keeps them so: the same members.
      if (store.snapshots.packedMembers !== undefined) {
        const packed: SnapshotMember[] = [];
        for await (const page of store.snapshots.packedMembers('vip'))
          for (let index = 0; index < page.count; index++)
            packed.push([
              page.bytes.toString('utf8', page.keyStart(index), page.keyEnd(index)),
              page.hi(index),
              page.lo(index),
            ]);
        expect(packed.sort((a, b) => (a[0] < b[0] ? -1 : 1))).toEqual(all);
      }
    });

    it('plans removals of leavers, drops those not on the list, and confirms the rest out of the snapshot', async () => {
      const store = await open();
      await confirmRun(store, 1, [contact(0, 'a@x.io'), contact(1, 'b@x.io'), contact(2, 'c@x.io')]);
      await store.checkpoints.create(2, 'vip', 'list-1');
      expect(await store.removals.plan(2, new Set(['b@x.io', 'c@x.io']))).toBe(2);
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
      expect((await store.removals.batches(2))[0]?.submissions).toBe(2);
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

    it('keeps sent but unconfirmed contacts in the snapshot with the unconfirmed fingerprint', async () => {
      const store = await open();
      await confirmRun(store, 1, [contact(0, 'a@x.io')]);
      await store.checkpoints.create(2, 'vip', 'list-1');
      await store.imports.stage(2, [contact(0, 'a@x.io', 'New'), contact(1, 'b@x.io'), contact(2, 'c@x.io')]);
      await store.imports.plan(2, 1, { contacts: 2, bodyBytes: 0, firstSeq: 0, lastSeq: 1 });
      await store.imports.plan(2, 2, { contacts: 1, bodyBytes: 0, firstSeq: 2, lastSeq: 2 });
      await store.imports.markSending(2, 1, 0);
      expect(await store.checkpoints.keepUnconfirmedSends(2, 'vip')).toBe(2);
      await store.checkpoints.delete(2);
      expect(await members(store)).toEqual([
        ['a@x.io', 0, 0],
        ['b@x.io', 0, 0],
      ]);
    });

    it('translates a member’s fingerprint only from the one it holds, and adds none', async () => {
      const store = await open();
      await confirmRun(store, 1, [contact(0, 'a@x.io'), contact(1, 'b@x.io'), contact(2, 'c@x.io')]);
      await store.unchangedMarks.set('vip', 'm1');
      const changes = new SnapshotBucketChanges('vip');
      changes.translate('a@x.io', [0, 1], [0xfffffffe, 7]);
      // b@x.io holds [0, 2]: a translation from another fingerprint leaves it as it is.
      changes.translate('b@x.io', [0, 9], [5, 5]);
      changes.translate('nobody@x.io', [0, 1], [6, 6]);
      expect(await store.snapshots.translate(changes)).toBe(1);
      expect(await members(store)).toEqual([
        ['a@x.io', 0xfffffffe, 7],
        ['b@x.io', 0, 2],
        ['c@x.io', 0, 3],
      ]);
      expect(await store.unchangedMarks.matches('vip', 'm1')).toBe(false);
      // Many changes to one bucket (merged, not patched) follow the same rule.
      const many = new SnapshotBucketChanges('vip');
      for (let n = 0; n < 40; n++) many.translate(`a@x.io`, n === 39 ? [0xfffffffe, 7] : [1, n], [8, 8]);
      many.translate('c@x.io', [0, 3], [9, 9]);
      expect(await store.snapshots.translate(many)).toBe(2);
      expect(await members(store)).toEqual([
        ['a@x.io', 8, 8],
        ['b@x.io', 0, 2],
        ['c@x.io', 9, 9],
      ]);
      // Its run is kept: the next run's confirmed change of it replaces it as before.
      await confirmRun(store, 2, [contact(0, 'c@x.io', 'C', [3, 3])]);
      expect((await members(store))[2]).toEqual(['c@x.io', 3, 3]);
    });

    it('matches an unchanged mark only while the snapshot keeps the revision it was set at', async () => {
      const store = await open();
      expect(await store.unchangedMarks.matches('vip', 'm1')).toBe(false);
      await store.unchangedMarks.set('vip', 'm1');
      expect(await store.unchangedMarks.matches('vip', 'm1')).toBe(true);
      expect(await store.unchangedMarks.matches('vip', 'm2')).toBe(false);
      await confirmRun(store, 1, [contact(0, 'a@x.io'), contact(1, 'b@x.io')]);
      expect(await store.unchangedMarks.matches('vip', 'm1')).toBe(false);
      await store.unchangedMarks.set('vip', 'm1');
      // A run that changes nothing leaves the revision as it was.
      await store.checkpoints.create(2, 'vip', 'list-1');
      await store.checkpoints.delete(2);
      expect(await store.unchangedMarks.matches('vip', 'm1')).toBe(true);
      expect(await store.snapshots.reconcileWithList('vip', ['a@x.io', 'b@x.io'])).toMatchObject({
        missing: 0,
      });
      expect(await store.unchangedMarks.matches('vip', 'm1')).toBe(true);
      await store.snapshots.reconcileWithList('vip', ['a@x.io']);
      expect(await store.unchangedMarks.matches('vip', 'm1')).toBe(false);
      await store.unchangedMarks.set('vip', 'm1');
      await store.unchangedMarks.drop('vip');
      expect(await store.unchangedMarks.matches('vip', 'm1')).toBe(false);
    });

    it('appends a run’s row issues batch after batch and reads them back in order, a page at a time', async () => {
      const store = await open();
      expect(await store.rowIssues.count(1)).toBe(0);
      expect(await issuePages(store, 1)).toEqual([]);
      await store.rowIssues.append(1, 'vip', [issue(1), issue(2)]);
      await store.rowIssues.append(1, 'vip', []);
      // Every cell as it was given: commas, quotes, line breaks, non-ASCII, empty cells.
      const odd = issue(3, {
        key: '',
        field: '',
        reason: 'Row 12: "a, b"\nrefused — ünïcode',
        where: 'import batch 3',
        code: 'rejected-by-constant-contact',
      });
      await store.rowIssues.append(1, 'vip', [
        odd,
        issue(4, { severity: 'warning', code: 'name-truncated' }),
      ]);
      await store.rowIssues.append(2, 'vip', [issue(9)]);
      await store.rowIssues.append(1, 'vip', [issue(5)]);
      expect(await store.rowIssues.count(1)).toBe(5);
      expect(await store.rowIssues.count(2)).toBe(1);
      expect((await issuePages(store, 1, 2)).map((page) => page.length)).toEqual([2, 2, 1]);
      expect((await issuePages(store, 1, 5)).map((page) => page.length)).toEqual([5]);
      expect((await issuePages(store, 1)).flat()).toEqual([
        issue(1),
        issue(2),
        odd,
        issue(4, { severity: 'warning', code: 'name-truncated' }),
        issue(5),
      ]);
      expect((await issuePages(store, 2)).flat()).toEqual([issue(9)]);
    });

    it('keeps row issues after the run’s checkpoint, without one, and forgets them by run or destination', async () => {
      const store = await open();
      await store.checkpoints.create(1, 'vip', 'list-1');
      await store.rowIssues.append(1, 'vip', [issue(1)]);
      await store.checkpoints.delete(1);
      // A dry run has no checkpoint: its issues are recorded all the same.
      await store.rowIssues.append(2, 'vip', [issue(2), issue(3)]);
      await store.rowIssues.append(3, 'news', [issue(4)]);
      expect(await store.rowIssues.count(1)).toBe(1);
      await store.rowIssues.forget(2);
      expect(await store.rowIssues.count(2)).toBe(0);
      expect(await issuePages(store, 2)).toEqual([]);
      await store.rowIssues.forget(2);
      // A forgotten run that appends again starts over.
      await store.rowIssues.append(2, 'vip', [issue(5)]);
      expect((await issuePages(store, 2)).flat()).toEqual([issue(5)]);
      await store.rowIssues.forgetDestination('vip');
      expect(await store.rowIssues.count(1)).toBe(0);
      expect(await store.rowIssues.count(2)).toBe(0);
      expect((await issuePages(store, 3)).flat()).toEqual([issue(4)]);
    });

    it('holds the snapshot against the list and keeps list baselines', async () => {
      const store = await open();
      await confirmRun(store, 1, [contact(0, 'a@x.io'), contact(1, 'b@x.io')]);
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
describeRunStoreContract('PostgreSQL', async () => (await postgresRunStores.open()).store);
