import { beforeAll, describe, expect, it } from 'vitest';
import type { ImportBatchStore, RunEngineState, RunStore } from '../../../src/engine';
import { runEngineStateFor } from '../../../src/wiring';
import {
  type ExportWorld,
  expectedMembers,
  exportWorld,
  fastTuning,
  generatedData,
  importedItems,
} from '../../support/export-world';

// 3,000 generated profiles: about 1,450 distinct contacts in Newsletter or VIP, sent 150 per call.
let data: string;
beforeAll(async () => {
  data = await generatedData(3_000);
});

const segments = ['Newsletter', 'VIP'];
const smallBatches = { maxContacts: 150, maxBodyBytes: 4_000_000 };

/**
 * The world's state with its import batch store watched: how many batches the run store holds
 * planned (each counted once `plan` resolved), and `onPlanned` called after each.
 */
function watchedState(w: ExportWorld, onPlanned: (planned: number) => void = () => {}) {
  const base = runEngineStateFor(w.store);
  const inner = base.runStore;
  let planned = 0;
  const imports: ImportBatchStore = Object.create(inner.imports);
  imports.plan = async (runId, batch, batchPlan) => {
    await inner.imports.plan(runId, batch, batchPlan);
    planned += 1;
    onPlanned(planned);
  };
  const runStore: RunStore = Object.create(inner, { imports: { value: imports } });
  const state: RunEngineState = { ...base, runStore };
  return { state, planned: () => planned };
}

const isImport = (event: { method: string; pathTemplate: string }) =>
  event.method === 'POST' && event.pathTemplate === '/activities/contacts_json_import';

describe('sending while planning', () => {
  it('sends the first import while later batches are still being planned, and ends exact', async () => {
    const w = await exportWorld(data);
    await w.apply([{ name: 'vip', segments }]);
    const watched = watchedState(w);
    let plannedAtFirstImport: number | undefined;
    const result = await w.run('vip', {
      store: watched.state,
      tuning: fastTuning({ importBatchLimits: smallBatches }),
      onRequest: (event) => {
        if (isImport(event)) plannedAtFirstImport ??= watched.planned();
      },
    });
    expect(result.run.status).toBe('succeeded');
    const calls = result.record.batches.imports;
    expect(calls).toBeGreaterThanOrEqual(8);
    expect(result.record.plan?.importCalls).toBe(calls);
    expect(watched.planned()).toBe(calls);
    // The first import was answered when only a few of the run's batches were planned.
    expect(plannedAtFirstImport).toBeDefined();
    expect(plannedAtFirstImport).toBeLessThan(calls);
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, segments));
    expect(importedItems(w.sandbox)).toBe(result.record.counts.contacts);
  });

  it('a run stopped while planning its batches resumes by planning the rest: every contact planned and sent once', async () => {
    const w = await exportWorld(data);
    await w.apply([{ name: 'vip', segments }]);
    const controller = new AbortController();
    // Stopped once three batches are planned: the first ones have left, the rest are not planned
    // (sent once read: the case of a run stopped after its read; see send-while-reading.test.ts).
    const watched = watchedState(w, (planned) => {
      if (planned === 3) controller.abort();
    });
    const first = await w.run('vip', {
      store: watched.state,
      signal: controller.signal,
      tuning: fastTuning({ importBatchLimits: smallBatches, sendWhileReading: false }),
    });
    expect(first.run.status).toBe('paused');
    const planned = first.record.plan?.importCalls ?? 0;
    expect(planned).toBeGreaterThanOrEqual(8);
    expect(first.record.batches.imports).toBe(3);
    expect(first.record.batches.importsConfirmed).toBeGreaterThanOrEqual(1);
    expect(importedItems(w.sandbox)).toBe(first.record.counts.imported);

    const second = await w.run('vip', { tuning: fastTuning({ importBatchLimits: smallBatches }) });
    expect(second.resumed).toBe(true);
    expect(second.run.id).toBe(first.run.id);
    expect(second.run.status).toBe('succeeded');
    // The rest was cut as the first run would have cut it.
    expect(second.record.batches.imports).toBe(planned);
    expect(second.record.batches.importsConfirmed).toBe(planned);
    expect(w.members()).toEqual(await expectedMembers(w.dataFolder, segments));
    expect(second.record.counts.imported).toBe(second.record.counts.contacts);
    expect(importedItems(w.sandbox)).toBe(second.record.counts.contacts);
  });
});
