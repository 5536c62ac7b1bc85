import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { systemClock } from '../../../src/constant-contact';
import {
  ExportRunSession,
  newRunRecord,
  type RowIssueLine,
  type RowIssueStore,
  type RunStore,
} from '../../../src/engine';
import { runEngineStateFor, runStoreFor } from '../../../src/wiring';
import { exportWorld } from '../../support/export-world';
import { recordedDestination } from '../../support/run-records';
import { openTestState } from '../../support/state-store';
import { tempFolder } from '../../support/temp-folder';

/** `store` with its row issues' appends counted (the size of each) in `appends`. */
function countingAppends(store: RunStore, appends: number[]): RunStore {
  const rowIssues: RowIssueStore = {
    append: (runId, destination, issues: readonly RowIssueLine[]) => {
      appends.push(issues.length);
      return store.rowIssues.append(runId, destination, issues);
    },
    count: (runId) => store.rowIssues.count(runId),
    read: (runId, pageSize) => store.rowIssues.read(runId, pageSize),
    forget: (runId) => store.rowIssues.forget(runId),
    forgetDestination: (destination) => store.rowIssues.forgetDestination(destination),
  };
  return Object.assign(Object.create(store) as RunStore, { rowIssues });
}

/** `bad` profiles whose email is not one, then `good` valid ones, every one in segment VIP. */
function badRowsData(bad: number, good: number): string {
  const folder = join(tempFolder(), 'data');
  mkdirSync(folder, { recursive: true });
  const profiles = ['CustomerId,EmailAddress,FirstName,LastName'];
  const members = ['CustomerId,Segment'];
  for (let n = 1; n <= bad + good; n++) {
    const id = `C${String(n).padStart(6, '0')}`;
    profiles.push(`${id},${n <= bad ? `not-an-email-${n}` : `person${n}@example.com`},First,Last`);
    members.push(`${id},VIP`);
  }
  writeFileSync(join(folder, 'profiles.csv'), `${profiles.join('\n')}\n`);
  writeFileSync(join(folder, 'segment-membership.csv'), `${members.join('\n')}\n`);
  return folder;
}

describe('a run’s row issues in the run store', () => {
  it('are written once 10,000 wait, not once per read batch, and all of them before the record', async () => {
    const state = await openTestState();
    const appends: number[] = [];
    const runStore = countingAppends(runStoreFor(state), appends);
    const record = newRunRecord(recordedDestination, { dryRun: false, full: false });
    const run = await state.runs.start({ destination: 'vip', trigger: 'manual' });
    const session = new ExportRunSession(run, record, {
      runs: state.runs,
      runStore,
      clock: systemClock,
      onProgress: undefined,
    });
    // 1,000 read batches of 25 bad rows each.
    for (let batch = 0; batch < 1000; batch++) {
      for (let row = 0; row < 25; row++) {
        const line = batch * 25 + row + 2;
        session.issue({
          severity: 'error',
          code: 'invalid-email',
          message: `profiles.csv:${line}: not an email`,
          where: { file: '/data/profiles.csv', line },
          key: `C${line}`,
        });
      }
      await session.writeIssues();
    }
    session.rejected(1, 'Row 3: invalid email address');
    expect(appends).toEqual([10_000, 10_000]);
    await session.finish('succeeded');
    expect(appends).toEqual([10_000, 10_000, 5_001]);
    expect(await runStore.rowIssues.count(run.id)).toBe(25_001);
  });

  it('are written in a few appends however many rows are bad, in the order the rows were read', async () => {
    const w = await exportWorld(badRowsData(30_000, 10));
    await w.apply([{ name: 'vip' }]);
    const state = runEngineStateFor(w.store);
    const appends: number[] = [];
    const runStore = countingAppends(state.runStore, appends);
    const result = await w.run('vip', { store: { ...state, runStore } });
    expect(result.run.status, result.error?.message).toBe('succeeded');
    expect(result.record.rowIssues.errors).toBe(30_000);
    expect(appends.reduce((sum, n) => sum + n, 0)).toBe(30_000);
    // However the read cuts its batches, the issues are a few writes of many each, not one per batch.
    expect(appends.length).toBeGreaterThanOrEqual(1);
    expect(appends.length).toBeLessThanOrEqual(3);
    for (const size of appends.slice(0, -1)) expect(size).toBeGreaterThanOrEqual(10_000);
    expect(await state.runStore.rowIssues.count(result.run.id)).toBe(30_000);
    const lines = (await w.rowIssueCsv(result.run.id)).trimEnd().split('\n');
    expect(lines).toHaveLength(30_001);
    expect(lines[1]).toMatch(/^C000001,EmailAddress,.*,profiles\.csv:2,error,invalid-email$/);
    expect(lines[30_000]).toMatch(/^C030000,EmailAddress,.*,profiles\.csv:30001,error,invalid-email$/);
  });
});
