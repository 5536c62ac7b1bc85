import { describe, expect, it } from 'vitest';
import { lastRuns, newRunRecord, runRecordJson } from '../../../src/engine';
import { fakeClock } from '../../support/fake-clock';
import { recordedDestination as destination } from '../../support/run-records';
import { openTestState } from '../../support/state-store';

async function history() {
  const clock = fakeClock(Date.parse('2026-11-22T10:00:00Z'));
  const store = await openTestState({ url: 'sqlite::memory:', clock });
  const run = async (dryRun: boolean, status: 'succeeded' | 'failed') => {
    const started = await store.runs.start({
      destination: 'vip',
      trigger: 'manual',
      record: runRecordJson(newRunRecord(destination, { dryRun, full: false })),
    });
    clock.advance(1_000);
    return store.runs.finish(started.id, { status });
  };
  return { store, run };
}

describe('lastRuns', () => {
  it('finds the last real run behind more dry runs than one page holds', async () => {
    const { store, run } = await history();
    await run(false, 'succeeded');
    const failed = await run(false, 'failed');
    for (let i = 0; i < 120; i++) await run(true, 'succeeded');
    const newestDry = await run(true, 'succeeded');
    expect(await lastRuns(store.runs, 'vip')).toEqual({ run: failed, dryRun: newestDry });
  });

  it('reports no dry run older than the last real run, and no real run when there is none', async () => {
    const { store, run } = await history();
    const dry = await run(true, 'succeeded');
    expect(await lastRuns(store.runs, 'vip')).toEqual({ run: undefined, dryRun: dry });
    const real = await run(false, 'succeeded');
    expect(await lastRuns(store.runs, 'vip')).toEqual({ run: real, dryRun: undefined });
    expect(await lastRuns(store.runs, 'other')).toEqual({ run: undefined, dryRun: undefined });
  });
});
