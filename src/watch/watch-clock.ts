/**
 * Time for watch mode, injected: the scheduler asks it for the time and to be woken later. The
 * system clock uses real timers; tests pass a manual one, or start a process with an offset
 * (`--clock-start`) so a cron time comes within seconds.
 */
export interface WatchClock {
  now(): number;
  /** Calls `wake` after `ms` of this clock's time; returns a function that cancels it. */
  setTimer(ms: number, wake: () => void): () => void;
}

/** Longest single timer: setTimeout overflows past 2^31-1 ms (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** The real clock, optionally shifted so that now() starts at `startAt` and runs at real speed. */
export function systemWatchClock(startAt?: number): WatchClock {
  const offset = startAt === undefined ? 0 : startAt - Date.now();
  return {
    now: () => Date.now() + offset,
    setTimer(ms, wake) {
      let timer: NodeJS.Timeout | undefined;
      let cancelled = false;
      const arm = (remaining: number) => {
        timer = setTimeout(
          () => {
            if (cancelled) return;
            if (remaining > MAX_TIMER_MS) arm(remaining - MAX_TIMER_MS);
            else wake();
          },
          Math.min(Math.max(0, remaining), MAX_TIMER_MS),
        );
        timer.unref?.();
      };
      arm(ms);
      return () => {
        cancelled = true;
        if (timer) clearTimeout(timer);
      };
    },
  };
}

/** A clock that moves only when told; timers due by then fire, in time order. For tests. */
export class ManualWatchClock implements WatchClock {
  private time: number;
  private timers: { at: number; order: number; wake: () => void }[] = [];
  private order = 0;

  constructor(start: number) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(ms: number, wake: () => void): () => void {
    const timer = { at: this.time + Math.max(0, ms), order: this.order++, wake };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((item) => item !== timer);
    };
  }

  /** Moves time to `now + ms`, waking every timer due on the way, in order. */
  advance(ms: number): void {
    const until = this.time + ms;
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at || a.order - b.order);
      const next = this.timers[0];
      if (!next || next.at > until) break;
      this.timers.shift();
      this.time = next.at;
      next.wake();
    }
    this.time = until;
  }

  /** How many timers are armed. */
  get pending(): number {
    return this.timers.length;
  }
}
