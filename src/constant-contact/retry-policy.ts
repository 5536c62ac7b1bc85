/**
 * What went wrong with one attempt, as far as retrying is concerned (see `classifyFailure`).
 * - `throttled`: 429 `throttled`, the per-second limit. Nothing was done: always safe to retry.
 * - `quota-exceeded`: 429 `quota_exceeded`, the daily limit. Retrying before 00:00 UTC cannot help.
 * - `unavailable`: 503. The service refused before doing anything: safe to retry.
 * - `server-error`: 500, 502, 504. The request may or may not have been carried out.
 * - `connect-failed`: the connection was never made (ECONNREFUSED, DNS): nothing was sent.
 * - `connection-lost`: ECONNRESET, EPIPE, socket hang up: the request may have been carried out.
 * - `timeout`: no answer in time: the request may have been carried out.
 * - `unauthorized`: 401. Handled by one token refresh, never by the retry policy.
 * - `client-error`: any other 4xx, or a 2xx we cannot read. Retrying would fail the same way.
 */
export type FailureKind =
  | 'throttled'
  | 'quota-exceeded'
  | 'unavailable'
  | 'server-error'
  | 'connect-failed'
  | 'connection-lost'
  | 'timeout'
  | 'unauthorized'
  | 'client-error';

/** Kinds after which a request may have been carried out although no success answer came. */
export const ambiguousFailures: ReadonlySet<FailureKind> = new Set([
  'server-error',
  'connection-lost',
  'timeout',
]);

/** The knobs of `retryDelay`. All times in milliseconds. */
export interface RetryPolicy {
  /** Most attempts for 5xx and network failures, the first one included. */
  readonly maxAttempts: number;
  /** Most attempts when throttled: throttling is expected when several runs share a key. */
  readonly maxThrottledAttempts: number;
  /** Delay before the first retry; doubles with each attempt. */
  readonly baseDelayMs: number;
  /** Delay before the first retry after a 429 throttled (the per-second window is short). */
  readonly throttledBaseDelayMs: number;
  /** No computed delay exceeds this. */
  readonly maxDelayMs: number;
  /** A Retry-After longer than this is cut to it (CC documents none; a proxy might send one). */
  readonly maxRetryAfterMs: number;
}

export const defaultRetryPolicy = {
  maxAttempts: 6,
  maxThrottledAttempts: 10,
  baseDelayMs: 1_000,
  throttledBaseDelayMs: 1_000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
} as const satisfies RetryPolicy;

/** The facts `retryDelay` decides on. */
export interface RetryDecisionInput {
  /** The attempt that just failed: 1 for the first try. */
  readonly attempt: number;
  readonly failure: FailureKind;
  /**
   * False for requests that must not run twice (the contact import creates an activity each time):
   * failures after which they may have been carried out are then not retried.
   */
  readonly idempotent: boolean;
  /** A Retry-After header's delay, if the answer had one. */
  readonly retryAfterMs?: number | undefined;
  /** A number in [0, 1) from the injected random source: where the jittered delay falls. */
  readonly jitter: number;
  /**
   * What is left of the call's time (its request timeout), if it has one: a delay that would not end
   * before it is pointless, since no attempt could follow, so the answer is then 0.
   */
  readonly remainingMs?: number | undefined;
}

/**
 * The most attempts a failure of this kind gets, the first one included: `maxThrottledAttempts` for
 * `throttled`, `maxAttempts` for the kinds that may be retried, 1 for those that never are.
 */
export function attemptLimit(failure: FailureKind, policy: RetryPolicy = defaultRetryPolicy): number {
  switch (failure) {
    case 'quota-exceeded':
    case 'unauthorized':
    case 'client-error':
      return 1;
    case 'throttled':
      return policy.maxThrottledAttempts;
    case 'server-error':
    case 'connection-lost':
    case 'timeout':
    case 'unavailable':
    case 'connect-failed':
      return policy.maxAttempts;
  }
}

/**
 * How long to wait before the next attempt, in milliseconds; 0 means do not retry.
 *
 * Pure: the same input gives the same answer. Retries `throttled`, `unavailable`, `connect-failed`
 * always (nothing was carried out) and `server-error`, `connection-lost`, `timeout` only for idempotent
 * requests; never `quota-exceeded`, `unauthorized` (the caller refreshes the token once instead) or
 * `client-error`. The delay is capped exponential with "equal jitter": half the step fixed, half
 * random, so concurrent callers spread out but none retries immediately. A Retry-After is honoured
 * as a lower bound, itself capped. No delay is given that would not end before `remainingMs`.
 */
export function retryDelay(input: RetryDecisionInput, policy: RetryPolicy = defaultRetryPolicy): number {
  const { attempt, failure } = input;
  if (!input.idempotent && ambiguousFailures.has(failure)) return 0;
  if (attempt >= attemptLimit(failure, policy)) return 0;
  const base = failure === 'throttled' ? policy.throttledBaseDelayMs : policy.baseDelayMs;
  const step = Math.min(policy.maxDelayMs, base * 2 ** (attempt - 1));
  const jitter = Math.min(Math.max(input.jitter, 0), 1);
  const delay = Math.max(1, Math.round(step / 2 + (step / 2) * jitter));
  const retryAfter =
    input.retryAfterMs === undefined ? 0 : Math.min(Math.max(input.retryAfterMs, 0), policy.maxRetryAfterMs);
  const wait = Math.max(delay, retryAfter);
  return input.remainingMs !== undefined && wait >= input.remainingMs ? 0 : wait;
}
