import { describe, expect, it } from 'vitest';
import { type ExportRunner, RunCoordinator, type RunOutcome } from '../../../src/watch/run-coordinator';

/** A runner whose runs end when the test says so. */
function controllableRunner() {
  const open = new Map<string, (outcome: RunOutcome) => void>();
  const calls: string[] = [];
  const signals: AbortSignal[] = [];
  const runner: ExportRunner = ({ destination, trigger, signal }) => {
    calls.push(`${destination}:${trigger}`);
    signals.push(signal);
    return new Promise((resolve) => open.set(destination, resolve));
  };
  const finish = async (destination: string) => {
    open.get(destination)?.({ status: 'succeeded', imported: 1, removed: 0 });
    open.delete(destination);
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { runner, calls, signals, finish, open };
}

describe('RunCoordinator', () => {
  it('never runs one destination twice at once; a schedule during a run is dropped, a data change queued once', async () => {
    const { runner, calls, finish } = controllableRunner();
    const finished: string[] = [];
    const coordinator = new RunCoordinator(runner, {
      maxConcurrent: 4,
      onFinish: (destination, trigger) => finished.push(`${destination}:${trigger}`),
    });
    expect(coordinator.request('vip', 'schedule', 'schedule')).toBe('started');
    expect(coordinator.request('vip', 'schedule', 'schedule')).toBe('skipped');
    expect(coordinator.request('vip', 'refresh', 'data-changed')).toBe('queued');
    expect(coordinator.request('vip', 'refresh', 'data-changed')).toBe('queued');
    expect(coordinator.request('win-back', 'refresh', 'data-changed')).toBe('started');
    expect(coordinator.active()).toEqual(['vip', 'win-back']);
    await finish('vip');
    expect(calls).toEqual(['vip:schedule', 'win-back:refresh', 'vip:refresh']);
    await finish('vip');
    await finish('win-back');
    expect(finished).toEqual(['vip:schedule', 'vip:refresh', 'win-back:refresh']);
    expect(coordinator.active()).toEqual([]);
  });

  it('bounds concurrency and starts waiting destinations as slots free up', async () => {
    const { runner, calls, finish } = controllableRunner();
    const coordinator = new RunCoordinator(runner, { maxConcurrent: 2 });
    expect(['a', 'b', 'c', 'c'].map((name) => coordinator.request(name, 'schedule', 'schedule'))).toEqual([
      'started',
      'started',
      'queued',
      'skipped',
    ]);
    await finish('a');
    expect(calls).toEqual(['a:schedule', 'b:schedule', 'c:schedule']);
    expect(coordinator.active()).toEqual(['b', 'c']);
  });

  it('a failing runner is an outcome, not a crash', async () => {
    const outcomes: RunOutcome[] = [];
    const coordinator = new RunCoordinator(async () => Promise.reject(new Error('boom')), {
      maxConcurrent: 1,
      onFinish: (_d, _t, outcome) => outcomes.push(outcome),
    });
    coordinator.request('vip', 'schedule', 'schedule');
    await new Promise((resolve) => setImmediate(resolve));
    expect(outcomes).toEqual([{ status: 'failed', imported: 0, removed: 0, message: 'boom' }]);
  });

  it('stop aborts the runs in progress and waits for them, up to a bound', async () => {
    const { runner, signals, finish } = controllableRunner();
    const coordinator = new RunCoordinator(runner, { maxConcurrent: 2 });
    coordinator.request('vip', 'schedule', 'schedule');
    const stopped = coordinator.stop(5_000);
    expect(signals[0]?.aborted).toBe(true);
    expect(coordinator.request('other', 'schedule', 'schedule')).toBe('skipped');
    await finish('vip');
    expect(await stopped).toBe(true);

    const stuck = new RunCoordinator(() => new Promise(() => undefined), { maxConcurrent: 1 });
    stuck.request('vip', 'schedule', 'schedule');
    expect(await stuck.stop(20)).toBe(false);
  });
});
