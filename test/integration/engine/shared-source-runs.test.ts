import { describe, expect, it } from 'vitest';
import { type ExportRunResult, groupExportsBySource, runExportGroup } from '../../../src/engine';
import { ownSourceRowsProvider, type SourceRowProvider, sourceFingerprint } from '../../../src/profiles';
import { runEngineStateFor } from '../../../src/wiring';
import {
  type ExportWorld,
  expectedMembers,
  exportWorld,
  generatedData,
  vipListId,
  type WorldDestination,
  winBackListId,
} from '../../support/export-world';

/** The files' own reads, each open counted by file name. */
function countingRows() {
  const opens: Record<string, number> = {};
  const hashed = { count: 0 };
  const rows: SourceRowProvider = {
    rowBatches: (part, fields, options) => {
      const name =
        part.type === 'sqlite' || part.type === 'postgres'
          ? part.relation
          : (part.file.split('/').at(-1) ?? '');
      opens[name] = (opens[name] ?? 0) + 1;
      return ownSourceRowsProvider.rowBatches(part, fields, options);
    },
    fingerprint: (spec, baseDir) => {
      hashed.count += 1;
      return sourceFingerprint(spec, baseDir);
    },
  };
  return { rows, opens, hashed };
}

/** Three destinations on the one source: other segments, other lists, one with another mapping. */
function destinations(w: ExportWorld, thirdList: string): WorldDestination[] {
  void w;
  return [
    { name: 'vip', segments: ['VIP'], listId: vipListId },
    { name: 'lapsed', segments: ['Newsletter', 'LapsedCustomers'], listId: winBackListId },
    { name: 'signups', segments: ['NewSignups'], listId: thirdList, names: false },
  ];
}

async function world(data: string) {
  const w = await exportWorld(data);
  const third = w.sandbox.account.createList('Signups', false, Date.now());
  if (!third) throw new Error('no third list');
  return { w, thirdList: third.listId };
}

/** What must not differ between a destination's run alone and its run in a group. */
async function outcome(w: ExportWorld, result: ExportRunResult, listId: string) {
  const { record } = result;
  return {
    status: result.run.status,
    error: result.error?.code,
    counts: record.counts,
    membersPerSegment: record.membersPerSegment,
    rowIssues: { ...record.rowIssues, csv: null },
    plan: record.plan,
    csv: (await w.rowIssueCsv(result.run.id)).split(w.folder).join('<folder>'),
    members: w.members(listId),
  };
}

describe('destinations of one source in one run (a shared read)', () => {
  it('reads each part once per way it is asked, and each destination ends as it does alone', async () => {
    const data = await generatedData(3_000);
    const alone = await world(data);
    await alone.w.apply(destinations(alone.w, alone.thirdList));
    const lists = [vipListId, winBackListId, alone.thirdList];
    const lone: Awaited<ReturnType<typeof outcome>>[] = [];
    for (const [index, name] of ['vip', 'lapsed', 'signups'].entries())
      lone.push(await outcome(alone.w, await alone.w.run(name), lists[index] as string));

    const together = await world(data);
    await together.w.apply(destinations(together.w, together.thirdList));
    const state = runEngineStateFor(together.w.store);
    const targets = ['vip', 'lapsed', 'signups'].map((destination) => ({ destination }));
    const groups = await groupExportsBySource(state, targets, { dryRun: false });
    expect(groups).toEqual([targets]);
    const { rows, opens } = countingRows();
    const results = await runExportGroup(
      targets,
      (target, sourceRows) => together.w.run(target.destination, { sourceRows }),
      { rows },
    );
    const grouped = await Promise.all(
      results.map((result, index) =>
        outcome(together.w, result, index === 2 ? together.thirdList : (lists[index] as string)),
      ),
    );

    expect(grouped).toEqual(lone);
    expect(lone.map((run) => run.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(lone[0]?.counts.invalid).toBeGreaterThan(0);
    expect(lone[0]?.members).toEqual(await expectedMembers(together.w.dataFolder, ['VIP']));
    // The membership once for the three; the profiles once for the two that map names and once for
    // the one that maps the email only (other fields: other rows can fail, so it reads apart).
    expect(opens).toEqual({ 'segment-membership.csv': 1, 'profiles.csv': 2 });
  });

  it('reads the source once for destinations that map alike', async () => {
    const data = await generatedData(1_000);
    const { w } = await world(data);
    await w.apply([
      { name: 'vip', segments: ['VIP'], listId: vipListId },
      { name: 'lapsed', segments: ['LapsedCustomers'], listId: winBackListId },
    ]);
    const { rows, opens, hashed } = countingRows();
    const targets = [{ destination: 'vip' }, { destination: 'lapsed' }];
    const results = await runExportGroup(
      targets,
      (target, sourceRows) => w.run(target.destination, { sourceRows }),
      { rows },
    );
    expect(results.map((result) => result.run.status)).toEqual(['succeeded', 'succeeded']);
    expect(w.members(vipListId)).toEqual(await expectedMembers(w.dataFolder, ['VIP']));
    expect(w.members(winBackListId)).toEqual(await expectedMembers(w.dataFolder, ['LapsedCustomers']));
    expect(opens).toEqual({ 'segment-membership.csv': 1, 'profiles.csv': 1 });
    // The source hashed once for the group's unchanged marks, and each mark names that hash: the
    // second run of the group finds both unchanged.
    expect(hashed.count).toBe(1);
    const again = await runExportGroup(
      targets,
      (target, sourceRows) => w.run(target.destination, { sourceRows }),
      { rows },
    );
    expect(again.map((result) => result.record.skipped)).toEqual(['unchanged', 'unchanged']);
    expect(hashed.count).toBe(2);
  });

  it('lets the others finish when one destination fails before it reads (its list is missing)', async () => {
    const data = await generatedData(1_000);
    const { w, thirdList } = await world(data);
    const doomed = w.sandbox.account.createList('Deleted after apply', false, Date.now());
    if (!doomed) throw new Error('no list to delete');
    await w.apply([
      { name: 'vip', segments: ['VIP'], listId: vipListId },
      { name: 'gone', segments: ['Newsletter'], listId: doomed.listId },
      { name: 'signups', segments: ['NewSignups'], listId: thirdList },
    ]);
    w.sandbox.account.deleteList(doomed.listId);
    const { rows, opens } = countingRows();
    const targets = [{ destination: 'vip' }, { destination: 'gone' }, { destination: 'signups' }];
    const results = await runExportGroup(
      targets,
      (target, sourceRows) => w.run(target.destination, { sourceRows }),
      { rows },
    );
    expect(results.map((result) => [result.run.status, result.error?.code])).toEqual([
      ['succeeded', undefined],
      ['failed', 'list-not-found'],
      ['succeeded', undefined],
    ]);
    expect(w.members(vipListId)).toEqual(await expectedMembers(w.dataFolder, ['VIP']));
    expect(w.members(thirdList)).toEqual(await expectedMembers(w.dataFolder, ['NewSignups']));
    expect(opens).toEqual({ 'segment-membership.csv': 1, 'profiles.csv': 1 });
  });

  it('groups by source: a dry run, and a destination with a run to resume, read alone', async () => {
    const { w, thirdList } = await world(await generatedData(100));
    await w.apply([
      { name: 'vip', segments: ['VIP'], listId: vipListId },
      { name: 'lapsed', segments: ['LapsedCustomers'], listId: winBackListId },
      { name: 'signups', segments: ['NewSignups'], listId: thirdList },
    ]);
    const state = runEngineStateFor(w.store);
    const targets = ['vip', 'lapsed', 'signups'].map((destination) => ({ destination }));
    expect(await groupExportsBySource(state, targets, { dryRun: false })).toEqual([targets]);
    expect(await groupExportsBySource(state, targets, { dryRun: true })).toEqual(targets.map((t) => [t]));
    // An unfinished run of lapsed, past planning: it resumes (reads nothing) and must not hold the
    // others back; one still planning starts over, reading with them.
    await state.runStore.checkpoints.create(9_001, 'lapsed', winBackListId);
    expect(await groupExportsBySource(state, targets, { dryRun: false })).toEqual([targets]);
    await state.runStore.checkpoints.setPhase(9_001, 'importing');
    expect(await groupExportsBySource(state, targets, { dryRun: false })).toEqual([
      [targets[0], targets[2]],
      [targets[1]],
    ]);
    // Groups hold at most so many contacts in their snapshots together (memory: they run at once).
    await state.runStore.checkpoints.delete(9_001);
    const vip = await w.run('vip');
    expect(vip.run.status).toBe('succeeded');
    const vipContacts = await state.runStore.snapshots.size('vip');
    expect(vipContacts).toBeGreaterThan(0);
    expect(await groupExportsBySource(state, targets, { dryRun: false, maxContacts: vipContacts })).toEqual([
      targets,
    ]);
    const vip1 = { destination: 'vip' };
    const vip2 = { destination: 'vip' };
    const lapsed = { destination: 'lapsed' };
    // The second vip does not fit with the first: a group of its own, which lapsed (no snapshot) joins.
    expect(
      await groupExportsBySource(state, [vip1, vip2, lapsed], {
        dryRun: false,
        maxContacts: vipContacts + 1,
      }),
    ).toEqual([[vip1], [vip2, lapsed]]);
    const unknown = [{ destination: 'vip' }, { destination: 'not-applied' }];
    expect(await groupExportsBySource(state, unknown, { dryRun: false })).toEqual([
      [unknown[0]],
      [unknown[1]],
    ]);
  });
});
