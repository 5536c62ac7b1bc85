import { describe, expect, it } from 'vitest';
import {
  attemptLimit,
  defaultRetryPolicy,
  type FailureKind,
  retryDelay,
} from '../../../src/constant-contact';

const delays = (failure: FailureKind, idempotent: boolean, jitter: number, attempts = 12) =>
  Array.from({ length: attempts }, (_, index) =>
    retryDelay({ attempt: index + 1, failure, idempotent, jitter }),
  );

describe('retryDelay', () => {
  it('backs off exponentially from 1 s for 5xx and network failures, then stops after maxAttempts', () => {
    expect(delays('server-error', true, 1, 7)).toEqual([1000, 2000, 4000, 8000, 16000, 0, 0]);
    expect(delays('unavailable', true, 1, 7)).toEqual([1000, 2000, 4000, 8000, 16000, 0, 0]);
    expect(delays('connection-lost', true, 1, 3)).toEqual([1000, 2000, 4000]);
    expect(delays('timeout', true, 1, 3)).toEqual([1000, 2000, 4000]);
    expect(delays('connect-failed', true, 1, 3)).toEqual([1000, 2000, 4000]);
  });

  it('jitters between half the step and the full step', () => {
    expect(delays('server-error', true, 0, 5)).toEqual([500, 1000, 2000, 4000, 8000]);
    expect(delays('server-error', true, 0.5, 3)).toEqual([750, 1500, 3000]);
    // Out-of-range jitter from a bad random source is clamped, never negative or above the step.
    expect(retryDelay({ attempt: 1, failure: 'server-error', idempotent: true, jitter: 7 })).toBe(1000);
    expect(retryDelay({ attempt: 1, failure: 'server-error', idempotent: true, jitter: -3 })).toBe(500);
  });

  it('caps every delay at maxDelayMs', () => {
    const policy = { ...defaultRetryPolicy, maxAttempts: 20 };
    const last = retryDelay({ attempt: 15, failure: 'server-error', idempotent: true, jitter: 1 }, policy);
    expect(last).toBe(defaultRetryPolicy.maxDelayMs);
  });

  it('retries throttling more times than server errors', () => {
    const throttled = delays('throttled', true, 1, 11);
    expect(throttled.filter((delay) => delay > 0)).toHaveLength(defaultRetryPolicy.maxThrottledAttempts - 1);
    expect(throttled[0]).toBe(1000);
    expect(throttled[10]).toBe(0);
  });

  it('never retries quota_exceeded, a 401 (refresh instead) or another 4xx', () => {
    for (const failure of ['quota-exceeded', 'unauthorized', 'client-error'] as const) {
      expect(delays(failure, true, 1, 3)).toEqual([0, 0, 0]);
    }
  });

  it('does not retry a non-idempotent request after a failure that may have carried it out', () => {
    for (const failure of ['server-error', 'connection-lost', 'timeout'] as const) {
      expect(retryDelay({ attempt: 1, failure, idempotent: false, jitter: 1 })).toBe(0);
    }
    // Nothing was carried out: safe to retry even an import.
    for (const failure of ['throttled', 'unavailable', 'connect-failed'] as const) {
      expect(retryDelay({ attempt: 1, failure, idempotent: false, jitter: 1 })).toBe(1000);
    }
  });

  it('honours Retry-After as a lower bound, capped at maxRetryAfterMs', () => {
    expect(
      retryDelay({ attempt: 1, failure: 'throttled', idempotent: true, jitter: 1, retryAfterMs: 5000 }),
    ).toBe(5000);
    expect(
      retryDelay({ attempt: 1, failure: 'throttled', idempotent: true, jitter: 1, retryAfterMs: 10 }),
    ).toBe(1000);
    expect(
      retryDelay({ attempt: 1, failure: 'throttled', idempotent: true, jitter: 1, retryAfterMs: 3_600_000 }),
    ).toBe(defaultRetryPolicy.maxRetryAfterMs);
    // Retry-After never revives a failure that is not retried.
    expect(
      retryDelay({ attempt: 1, failure: 'client-error', idempotent: true, jitter: 1, retryAfterMs: 5000 }),
    ).toBe(0);
  });

  it('gives up when the delay would not end before the call runs out of time', () => {
    const input = { attempt: 3, failure: 'connect-failed', idempotent: true, jitter: 1 } as const;
    expect(retryDelay({ ...input, remainingMs: 4001 })).toBe(4000);
    expect(retryDelay({ ...input, remainingMs: 4000 })).toBe(0);
    expect(retryDelay({ ...input, remainingMs: 0 })).toBe(0);
    // A Retry-After that would outlast the call is not waited for either.
    expect(retryDelay({ ...input, failure: 'throttled', retryAfterMs: 20_000, remainingMs: 10_000 })).toBe(0);
  });
});

describe('attemptLimit', () => {
  it('is how many attempts a failure of that kind gets, the first included', () => {
    expect(attemptLimit('connect-failed')).toBe(defaultRetryPolicy.maxAttempts);
    expect(attemptLimit('server-error')).toBe(defaultRetryPolicy.maxAttempts);
    expect(attemptLimit('throttled')).toBe(defaultRetryPolicy.maxThrottledAttempts);
    expect(attemptLimit('client-error')).toBe(1);
    expect(attemptLimit('quota-exceeded')).toBe(1);
  });
});
