import { describe, expect, it } from 'vitest';
import { RunScheduler } from '../../../src/watch/run-scheduler';
import { ManualWatchClock, type WatchClock } from '../../../src/watch/watch-clock';

/** Timers that wake a millisecond early (as setTimeout may, against Date.now()), unless 1 ms or less. */
class EarlyClock implements WatchClock {
  private timers: { at: number; wake: () => void }[] = [];
  constructor(private time: number) {}
  now(): number {
    return this.time;
  }
  setTimer(ms: number, wake: () => void): () => void {
    const timer = { at: this.time + (ms > 1 ? ms - 1 : Math.max(0, ms)), wake };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((item) => item !== timer);
    };
  }
  advanceTo(until: number): void {
    for (let woken = 0; woken < 1_000; woken++) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.time = next.at;
      next.wake();
    }
    this.time = until;
  }
}

const at = (iso: string) => Date.parse(iso);

describe('RunScheduler', () => {
  it('fires each cron slot once when its timer wakes a moment early', () => {
    const clock = new EarlyClock(at('2026-11-23T06:00:01Z'));
    const fired: string[] = [];
    const scheduler = new RunScheduler(clock, (_schedule, firedAt) =>
      fired.push(new Date(firedAt).toISOString()),
    );
    scheduler.update([{ destination: 'd', cron: '*/8 * * * * *', timezone: 'UTC', trigger: 'schedule' }]);
    clock.advanceTo(at('2026-11-23T06:00:30Z'));
    expect(fired).toEqual([
      '2026-11-23T06:00:08.000Z',
      '2026-11-23T06:00:16.000Z',
      '2026-11-23T06:00:24.000Z',
    ]);
    scheduler.stop();
  });

  it('fires each destination at its cron times, in its time zone, and re-arms', () => {
    const clock = new ManualWatchClock(at('2026-11-23T07:59:00Z'));
    const fired: string[] = [];
    const scheduler = new RunScheduler(clock, (schedule, firedAt) =>
      fired.push(`${schedule.destination}@${new Date(firedAt).toISOString()}`),
    );
    scheduler.update([
      { destination: 'win-back', cron: '0 8 * * 1', timezone: 'UTC', trigger: 'schedule' },
      { destination: 'vip', cron: '0 */6 * * *', timezone: 'Europe/Paris', trigger: 'refresh' },
      { destination: 'manual-one', cron: undefined, timezone: 'UTC', trigger: 'schedule' },
    ]);
    expect(scheduler.nextRuns()).toEqual({
      'win-back': at('2026-11-23T08:00:00Z'),
      vip: at('2026-11-23T11:00:00Z'),
    });
    clock.advance(60_000);
    expect(fired).toEqual(['win-back@2026-11-23T08:00:00.000Z']);
    clock.advance(6 * 3_600_000);
    expect(fired).toEqual(['win-back@2026-11-23T08:00:00.000Z', 'vip@2026-11-23T11:00:00.000Z']);
    expect(scheduler.nextRuns()['win-back']).toBe(at('2026-11-30T08:00:00Z'));
    expect(scheduler.nextRuns().vip).toBe(at('2026-11-23T17:00:00Z'));
  });

  it('keeps unchanged timers, re-arms changed ones, drops removed ones, and stops', () => {
    const clock = new ManualWatchClock(at('2026-11-23T00:00:00Z'));
    const fired: string[] = [];
    const scheduler = new RunScheduler(clock, (schedule) => fired.push(schedule.destination));
    scheduler.update([
      { destination: 'a', cron: '0 * * * *', timezone: 'UTC', trigger: 'schedule' },
      { destination: 'b', cron: '30 * * * *', timezone: 'UTC', trigger: 'schedule' },
    ]);
    expect(clock.pending).toBe(2);
    scheduler.update([
      { destination: 'a', cron: '0 * * * *', timezone: 'UTC', trigger: 'schedule' },
      { destination: 'b', cron: '15 * * * *', timezone: 'UTC', trigger: 'schedule' },
    ]);
    expect(clock.pending).toBe(2);
    clock.advance(20 * 60_000);
    expect(fired).toEqual(['b']);
    scheduler.update([{ destination: 'b', cron: '15 * * * *', timezone: 'UTC', trigger: 'schedule' }]);
    clock.advance(60 * 60_000);
    expect(fired).toEqual(['b', 'b']);
    scheduler.stop();
    expect(clock.pending).toBe(0);
  });
});
