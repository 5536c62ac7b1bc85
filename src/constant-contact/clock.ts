import { setTimeout as delay } from 'node:timers/promises';

/**
 * Time as the Constant Contact client and sandbox see it, injected so tests are exact and never wait:
 * `now` for timestamps and windows, `sleep` for backoff and rate limiting.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Resolves after `ms` milliseconds of this clock's time. */
  sleep(ms: number): Promise<void>;
}

/** The real clock: Date.now and timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => (ms <= 0 ? Promise.resolve() : delay(ms)),
};
