import type { Clock } from '../../src/constant-contact';

/**
 * A clock whose time moves only when something sleeps: each `sleep` registers a timer, and once the
 * event loop has run what is ready, time jumps to the earliest timer and wakes it. Tests are exact
 * (every sleep is recorded) and never wait for real.
 */
export class ScheduledClock implements Clock {
  /** Every sleep requested, in order, in ms. */
  readonly sleeps: number[] = [];
  private time: number;
  private readonly timers: { at: number; order: number; wake: () => void }[] = [];
  private order = 0;
  private scheduled = false;

  constructor(start = Date.UTC(2026, 10, 22, 12, 0, 0)) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((wake) => {
      this.timers.push({ at: this.time + Math.max(0, ms), order: this.order++, wake });
      this.schedule();
    });
  }

  /** Moves time forward without waking anyone early. */
  advance(ms: number): void {
    this.time += ms;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.timers.sort((a, b) => a.at - b.at || a.order - b.order);
      const next = this.timers.shift();
      if (!next) return;
      this.time = Math.max(this.time, next.at);
      next.wake();
      if (this.timers.length > 0) this.schedule();
    });
  }
}
