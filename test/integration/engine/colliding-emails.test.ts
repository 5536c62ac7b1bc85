import { describe, expect, it } from 'vitest';
import { runStoreFor } from '../../../src/wiring';
import {
  engineFixture,
  expectedMembers,
  exportWorld,
  fastTuning,
  importedItems,
} from '../../support/export-world';

describe('emails whose hashes collide', () => {
  it('are still told apart: every contact is exported, and a rerun sends nothing', async () => {
    const w = await exportWorld(engineFixture('mixed-rows'));
    await w.apply();
    // Every email has the same hash: only the confirmation on the email itself separates them.
    const tuning = fastTuning({ emailHash: () => 0 });
    const first = await w.run('vip', { tuning });
    expect(first.run.status).toBe('succeeded');
    const expected = await expectedMembers(w.dataFolder, ['VIP']);
    expect(w.members()).toEqual(expected);
    expect(first.record.counts.duplicate).toBe(1);
    const before = importedItems(w.sandbox);
    // Not skipped as unchanged: the rerun compares every contact again.
    await runStoreFor(w.store).unchangedMarks.drop('vip');
    const rerun = await w.run('vip', { tuning });
    expect(rerun.record.skipped).toBeNull();
    expect(rerun.record.counts).toMatchObject({
      added: 0,
      updated: 0,
      contacts: first.record.counts.contacts,
    });
    expect(importedItems(w.sandbox)).toBe(before);
  });
});
