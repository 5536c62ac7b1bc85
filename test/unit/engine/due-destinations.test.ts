import { describe, expect, it } from 'vitest';
import { dueDestinations } from '../../../src/engine';
import type { JsonObject } from '../../../src/state/spec-hash';
import { fakeClock } from '../../support/fake-clock';
import { openTestState } from '../../support/state-store';

const destination = (schedule: string): JsonObject => ({
  connection: 'cc',
  source: 'profiles',
  listId: '04fe9a97-a579-43c5-bb1a-58ed29bf0a6a',
  dataMatching: { email: 'EmailAddress' },
  segments: ['VIP'],
  schedule,
  removal: 'keep',
  maxRemovalPercent: 10,
});

async function state(refresh?: JsonObject) {
  // Applied on Sunday 2026-11-22 at 10:00 UTC.
  const clock = fakeClock(Date.parse('2026-11-22T10:00:00Z'));
  const store = await openTestState({ url: 'sqlite::memory:', clock });
  const put = (kind: 'ExportDestination' | 'Refresh', name: string, spec: JsonObject) =>
    store.resources.put({ kind, name, owner: 'exportctl', spec });
  if (refresh) await put('Refresh', 'default', refresh);
  await put('ExportDestination', 'on-refresh', destination('refresh'));
  await put('ExportDestination', 'mondays', destination('0 8 * * 1'));
  await put('ExportDestination', 'by-hand', destination('manual'));
  return { store, clock };
}

const names = (entries: readonly { destination: string }[]) =>
  entries.map((entry) => entry.destination).sort();

describe('dueDestinations', () => {
  it('runs a destination once its schedule fired since it was applied', async () => {
    const { store } = await state({ cron: '0 */6 * * *', timezone: 'UTC' });
    // 11:59: the 6-hourly refresh has not fired since 10:00.
    expect(names((await dueDestinations(store, new Date('2026-11-22T11:59:00Z'))).due)).toEqual([]);
    const at = await dueDestinations(store, new Date('2026-11-22T12:00:00Z'));
    expect(at.due).toEqual([
      expect.objectContaining({
        destination: 'on-refresh',
        trigger: 'refresh',
        firedAt: new Date('2026-11-22T12:00:00Z'),
      }),
    ]);
    expect(at.notDue.find((entry) => entry.destination === 'by-hand')?.reason).toBe('schedule: manual');
    expect(at.notDue.find((entry) => entry.destination === 'mondays')?.nextAt).toEqual(
      new Date('2026-11-23T08:00:00Z'),
    );
    expect(names((await dueDestinations(store, new Date('2026-11-23T08:00:00Z'))).due)).toEqual([
      'mondays',
      'on-refresh',
    ]);
  });

  it('counts from the last real run, not from dry runs', async () => {
    const { store, clock } = await state({ cron: '0 */6 * * *', timezone: 'UTC' });
    clock.advance(3 * 3_600_000); // 13:00, after the 12:00 refresh
    const run = await store.runs.start({
      destination: 'on-refresh',
      trigger: 'refresh',
      record: { version: 1, dryRun: false, counts: {} },
    });
    await store.runs.finish(run.id, { status: 'succeeded' });
    clock.advance(3_600_000);
    const dry = await store.runs.start({
      destination: 'on-refresh',
      trigger: 'manual',
      record: { version: 1, dryRun: true, counts: {} },
    });
    await store.runs.finish(dry.id, { status: 'succeeded' });
    expect(names((await dueDestinations(store, new Date('2026-11-22T17:59:00Z'))).due)).toEqual([]);
    expect(names((await dueDestinations(store, new Date('2026-11-22T18:00:00Z'))).due)).toEqual([
      'on-refresh',
    ]);
  });

  it('reads a cron of its own in the Refresh time zone, and never runs `refresh` without a Refresh', async () => {
    const zoned = await state({ cron: '0 0 1 1 *', timezone: 'America/New_York' });
    // Monday 08:00 in New York is 13:00 UTC.
    expect(names((await dueDestinations(zoned.store, new Date('2026-11-23T12:59:00Z'))).due)).toEqual([]);
    expect(names((await dueDestinations(zoned.store, new Date('2026-11-23T13:00:00Z'))).due)).toEqual([
      'mondays',
    ]);

    const bare = await state();
    const result = await dueDestinations(bare.store, new Date('2030-01-01T00:00:00Z'));
    expect(names(result.due)).toEqual(['mondays']);
    expect(result.notDue.find((entry) => entry.destination === 'on-refresh')?.reason).toMatch(
      /no Refresh is applied/,
    );
  });
});
