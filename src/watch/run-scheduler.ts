import { nextCronTime } from '../config/cron-schedule';
import type { WatchClock } from './watch-clock';

/** One destination's schedule, as the applied state says. */
export interface DestinationSchedule {
  readonly destination: string;
  /** A cron expression, or undefined for `manual` (never scheduled). */
  readonly cron: string | undefined;
  readonly timezone: string;
  /** `refresh` when it follows the Refresh, `schedule` when it has a cron of its own. */
  readonly trigger: 'refresh' | 'schedule';
}

/**
 * Fires each destination at its cron times, on an injected clock. `update` replaces the schedules
 * (after every reconcile); unchanged ones keep their armed timer. A firing calls `onDue`, which
 * decides whether to start a run (a destination already running is not started twice).
 */
export class RunScheduler {
  private readonly armed = new Map<string, { key: string; cancel: () => void; next: number }>();
  private stopped = false;

  constructor(
    private readonly clock: WatchClock,
    private readonly onDue: (schedule: DestinationSchedule, firedAt: number) => void,
  ) {}

  /** Replaces the set of schedules. */
  update(schedules: readonly DestinationSchedule[]): void {
    if (this.stopped) return;
    const wanted = new Map(schedules.filter((item) => item.cron).map((item) => [item.destination, item]));
    for (const [destination, timer] of this.armed) {
      const schedule = wanted.get(destination);
      if (!schedule || keyOf(schedule) !== timer.key) {
        timer.cancel();
        this.armed.delete(destination);
      }
    }
    for (const schedule of wanted.values()) if (!this.armed.has(schedule.destination)) this.arm(schedule);
  }

  /** The next firing time of each scheduled destination (epoch ms), for /status. */
  nextRuns(): Record<string, number> {
    return Object.fromEntries([...this.armed].map(([destination, timer]) => [destination, timer.next]));
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.armed.values()) timer.cancel();
    this.armed.clear();
  }

  /**
   * Arms the next firing after now, and after `firedAt` (the slot that just fired): a timer may
   * wake a millisecond before its time, and the next slot computed from that moment would be the
   * same slot again, fired twice.
   */
  private arm(schedule: DestinationSchedule, firedAt = Number.NEGATIVE_INFINITY): void {
    if (!schedule.cron) return;
    const after = Math.max(this.clock.now(), firedAt);
    const next = nextCronTime(schedule.cron, schedule.timezone, new Date(after))?.getTime();
    if (next === undefined) return;
    const cancel = this.clock.setTimer(next - this.clock.now(), () => {
      this.armed.delete(schedule.destination);
      if (this.stopped) return;
      this.arm(schedule, next);
      this.onDue(schedule, next);
    });
    this.armed.set(schedule.destination, { key: keyOf(schedule), cancel, next });
  }
}

function keyOf(schedule: DestinationSchedule): string {
  return `${schedule.cron}\u0000${schedule.timezone}\u0000${schedule.trigger}`;
}
