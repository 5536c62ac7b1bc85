import { expect, it } from 'vitest';
import type { RunRecord } from '../../../src/state';
import { fakeClock } from '../../support/fake-clock';
import { describeStateStoreContract } from '../../support/state-backends';

describeStateStoreContract('run history', (backend) => {
  it('starts, updates and finishes a run', async () => {
    const clock = fakeClock();
    const store = await backend.open({ clock });
    const started = await store.runs.start({
      destination: 'vip-newsletter',
      trigger: 'manual',
      actor: 'ops@example.com',
      gitCommit: 'abc123',
    });
    expect(started).toEqual({
      id: started.id,
      destination: 'vip-newsletter',
      trigger: 'manual',
      actor: 'ops@example.com',
      status: 'running',
      startedAt: clock.now(),
      finishedAt: undefined,
      gitCommit: 'abc123',
      record: {},
    });
    clock.advance(1000);
    const paused = await store.runs.update(started.id, { status: 'paused', record: { batches: 2 } });
    expect(paused).toMatchObject({ status: 'paused', record: { batches: 2 }, finishedAt: undefined });
    clock.advance(1000);
    const finished = await store.runs.finish(started.id, {
      status: 'succeeded',
      record: { added: 10, errorsCsv: 'runs/1/errors.csv' },
    });
    expect(finished).toMatchObject({
      status: 'succeeded',
      finishedAt: clock.now(),
      record: { added: 10, errorsCsv: 'runs/1/errors.csv' },
    });
    expect(await store.runs.get(started.id)).toEqual(finished);
  });

  it('keeps the record when finish gives none; finished runs are final', async () => {
    const store = await backend.open();
    const run = await store.runs.start({ destination: 'd', trigger: 'schedule', record: { planned: 5 } });
    expect(run.actor).toBeUndefined();
    expect(run.gitCommit).toBeUndefined();
    expect((await store.runs.finish(run.id, { status: 'aborted' })).record).toEqual({ planned: 5 });
    await expect(store.runs.finish(run.id, { status: 'failed' })).rejects.toMatchObject({
      code: 'run-already-finished',
    });
    await expect(store.runs.update(run.id, { record: {} })).rejects.toMatchObject({
      code: 'run-already-finished',
    });
    await expect(store.runs.update(run.id + 1, { record: {} })).rejects.toMatchObject({
      code: 'run-not-found',
    });
    expect(await store.runs.get(run.id + 1)).toBeUndefined();
  });

  it('lists newest first, by destination, with a limit, and the last run of each destination', async () => {
    const clock = fakeClock();
    const store = await backend.open({ clock });
    const ids: Record<string, number> = {};
    for (const [label, destination] of [
      ['a1', 'a'],
      ['b1', 'b'],
      ['a2', 'a'],
      ['c1', 'c'],
      ['a3', 'a'],
    ] as const) {
      ids[label] = (await store.runs.start({ destination, trigger: 'refresh' })).id;
      clock.advance(1000);
    }
    // Same start time: the later id is newer.
    clock.advance(-1000);
    ids.b2 = (await store.runs.start({ destination: 'b', trigger: 'manual' })).id;

    const order = (runs: { id: number }[]) =>
      runs.map((run) => Object.keys(ids).find((key) => ids[key] === run.id));
    expect(order(await store.runs.list())).toEqual(['b2', 'a3', 'c1', 'a2', 'b1', 'a1']);
    expect(order(await store.runs.list({ destination: 'a' }))).toEqual(['a3', 'a2', 'a1']);
    expect(order(await store.runs.list({ destination: 'a', limit: 2 }))).toEqual(['a3', 'a2']);
    expect(order(await store.runs.list({ destination: 'zzz' }))).toEqual([]);
    expect(order(await store.runs.lastPerDestination())).toEqual(['a3', 'b2', 'c1']);
    // Paging on from a run: the ones after it in the same order (b2 and a3 share a start time).
    const run = async (label: string) => (await store.runs.get(ids[label] ?? -1)) as RunRecord;
    expect(order(await store.runs.list({ before: await run('b2'), limit: 2 }))).toEqual(['a3', 'c1']);
    expect(order(await store.runs.list({ destination: 'a', before: await run('a3') }))).toEqual(['a2', 'a1']);
    expect(order(await store.runs.list({ before: await run('a1') }))).toEqual([]);
  });
});
