import { describe, expect, it } from 'vitest';
import { ExportCheckpointStore } from '../../../src/engine';
import { openTestState } from '../../support/state-store';
import { tempFolder } from '../../support/temp-folder';

describe('a removal batch’s sends', () => {
  it('are counted in the checkpoint, so a resumed run bounds them by maxSubmissions over the whole run', async () => {
    const store = await openTestState({ folder: tempFolder() });
    try {
      const checkpoints = new ExportCheckpointStore(store.sqlite, () => 0);
      checkpoints.createCheckpoint(7, 'win-back', 'list-1');
      store.sqlite
        .prepare(
          "INSERT INTO export_removals (run_id, email_key) VALUES (7, 'a@example.com'), (7, 'b@example.com')",
        )
        .run();
      checkpoints.planRemovalBatches(
        7,
        'win-back',
        new Map([
          ['a@example.com', 'id-a'],
          ['b@example.com', 'id-b'],
        ]),
        500,
      );
      const [batch] = checkpoints.removalBatches(7);
      expect(batch).toMatchObject({ contacts: 2, state: 'planned', submissions: 0 });
      checkpoints.markRemovalSubmitted(7, batch?.batch ?? -1, 'activity-1');
      checkpoints.markRemovalPlanned(7, batch?.batch ?? -1); // its activity failed: send again
      checkpoints.markRemovalSubmitted(7, batch?.batch ?? -1, 'activity-2');
      // Another process taking the run up reads what this one did.
      const resumed = new ExportCheckpointStore(store.sqlite, () => 0);
      expect(resumed.removalBatches(7)).toEqual([
        { batch: batch?.batch, contacts: 2, state: 'submitted', activityId: 'activity-2', submissions: 2 },
      ]);
    } finally {
      await store.close();
    }
  });
});
