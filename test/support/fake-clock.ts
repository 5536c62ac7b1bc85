import type { Clock, Sleep } from '../../src/state';

/** A clock that moves only when told, and a sleep that advances it instead of waiting. */
export interface FakeClock extends Clock {
  advance(ms: number): void;
  readonly sleep: Sleep;
  /** Every pause asked of `sleep`, in order. */
  readonly sleeps: number[];
}

export function fakeClock(start = Date.parse('2026-11-22T10:00:00Z')): FakeClock {
  let now = start;
  const sleeps: number[] = [];
  return {
    now: () => now,
    advance(ms) {
      now += ms;
    },
    sleeps,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
}
