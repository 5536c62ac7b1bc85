import { describe, expect, it } from 'vitest';
import { SqliteRunStore } from '../../../src/engine/sqlite';
import { openTestState } from '../../support/state-store';
import { tempFolder } from '../../support/temp-folder';

describe('a removal batch’s sends', () => {
  it('are counted in the checkpoint, so a resumed run bounds them by maxSubmissions over the whole run', async () => {
    const store = await openTestState({ folder: tempFolder() });
    try {
      const runStore = new SqliteRunStore(store.sqlite, () => 0);
      await runStore.checkpoints.create(7, 'win-back', 'list-1');
      store.sqlite
        .prepare(
          "INSERT INTO export_removals (run_id, email_key) VALUES (7, 'a@example.com'), (7, 'b@example.com')",
        )
        .run();
      await runStore.removals.planBatches(
        7,
        'win-back',
        new Map([
          ['a@example.com', 'id-a'],
          ['b@example.com', 'id-b'],
        ]),
        500,
      );
      const [batch] = await runStore.removals.batches(7);
      expect(batch).toMatchObject({ contacts: 2, state: 'planned', submissions: 0 });
      await runStore.removals.markSubmitted(7, batch?.batch ?? -1, 'activity-1');
      await runStore.removals.markPlanned(7, batch?.batch ?? -1); // its activity failed: send again
      await runStore.removals.markSubmitted(7, batch?.batch ?? -1, 'activity-2');
      // Another process taking the run up reads what this one did.
      const resumed = new SqliteRunStore(store.sqlite, () => 0);
      expect(await resumed.removals.batches(7)).toEqual([
        { batch: batch?.batch, contacts: 2, state: 'submitted', activityId: 'activity-2', submissions: 2 },
      ]);
    } finally {
      await store.close();
    }
  });
});
