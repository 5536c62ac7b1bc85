import { describe, expect, it } from 'vitest';
import { ownSourceRowsProvider, type SourceRowProvider } from '../../../src/profiles';
import { SharedSourceReads } from '../../../src/watch';
import { runEngineStateFor } from '../../../src/wiring';
import {
  expectedMembers,
  exportWorld,
  generatedData,
  vipListId,
  winBackListId,
} from '../../support/export-world';

function countingRows() {
  const opens: Record<string, number> = {};
  const rows: SourceRowProvider = {
    rowBatches: (part, fields, options) => {
      const name =
        part.type === 'sqlite' || part.type === 'postgres'
          ? part.relation
          : (part.file.split('/').at(-1) ?? '');
      opens[name] = (opens[name] ?? 0) + 1;
      return ownSourceRowsProvider.rowBatches(part, fields, options);
    },
  };
  return { rows, opens };
}

describe("watch mode's shared reads", () => {
  it('runs of one source that start together read it once; one that starts after the read began reads alone', async () => {
    const w = await exportWorld(await generatedData(1_000));
    const third = w.sandbox.account.createList('Signups', false, Date.now());
    if (!third) throw new Error('no third list');
    await w.apply([
      { name: 'vip', segments: ['VIP'], listId: vipListId, schedule: 'refresh' },
      { name: 'lapsed', segments: ['LapsedCustomers'], listId: winBackListId, schedule: 'refresh' },
      { name: 'signups', segments: ['NewSignups'], listId: third.listId, schedule: 'refresh' },
    ]);
    const { rows, opens } = countingRows();
    const reads = new SharedSourceReads({ rows });
    const state = runEngineStateFor(w.store);
    const run = async (destination: string) => {
      const sourceRows = await reads.join(state, destination);
      expect(sourceRows).toBeDefined();
      try {
        return await w.run(destination, { sourceRows, trigger: 'schedule' });
      } finally {
        sourceRows?.leave();
      }
    };
    const together = await Promise.all([run('vip'), run('lapsed')]);
    expect(together.map((result) => result.run.status)).toEqual(['succeeded', 'succeeded']);
    expect(opens).toEqual({ 'segment-membership.csv': 1, 'profiles.csv': 1 });
    const later = await run('signups');
    expect(later.run.status).toBe('succeeded');
    expect(opens).toEqual({ 'segment-membership.csv': 2, 'profiles.csv': 2 });
    expect(w.members(vipListId)).toEqual(await expectedMembers(w.dataFolder, ['VIP']));
    expect(w.members(winBackListId)).toEqual(await expectedMembers(w.dataFolder, ['LapsedCustomers']));
    expect(w.members(third.listId)).toEqual(await expectedMembers(w.dataFolder, ['NewSignups']));
  });
});
