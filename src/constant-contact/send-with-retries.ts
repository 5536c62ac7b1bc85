import { type AxiosResponse, isAxiosError } from 'axios';
import { type ClassifiedFailure, classifyNetworkError, classifyResponse } from './classify-failure';
import type { Clock } from './clock';
import {
  type ConstantContactError,
  nextUtcMidnight,
  QuotaExceededError,
  type RequestDescription,
} from './constant-contact-errors';
import type { SlidingWindowRateLimiter } from './rate-limiter';
import type { ApiLogger, OnApiRequest } from './request-observer';
import { ambiguousFailures, type RetryPolicy, retryDelay } from './retry-policy';

/** What every request of one client shares: time, randomness, policy, observers. */
export interface AttemptEnvironment {
  readonly clock: Clock;
  /** Returns numbers in [0, 1): the jitter source. */
  readonly random: () => number;
  readonly retryPolicy: RetryPolicy;
  readonly onRequest?: OnApiRequest | undefined;
  readonly logger?: ApiLogger | undefined;
}

/** Facts about a failure that end the call, handed to `toError`. */
export interface FinalFailure extends ClassifiedFailure {
  readonly attempts: number;
  readonly sentAt: number;
  readonly mayHaveSucceeded: boolean;
}

/** One logical call: how to send one attempt, and how to turn a final failure into an error. */
export interface CallSpec {
  readonly endpoint: 'api' | 'token';
  readonly request: RequestDescription;
  /** False when running the request twice would do the work twice (see RetryDecisionInput). */
  readonly idempotent: boolean;
  readonly limiter: SlidingWindowRateLimiter;
  /** Sends one attempt. Must resolve with the answer for every HTTP status (validateStatus: all). */
  readonly send: () => Promise<AxiosResponse>;
  /**
   * Called once on the first 401: refresh the access token. The attempt is then repeated once,
   * whatever the retry policy says; a second 401 ends the call.
   */
  readonly onUnauthorized?: () => Promise<void>;
  readonly toError: (failure: FinalFailure) => ConstantContactError;
}

/**
 * Sends a call through its rate limiter with the retry policy: resolves with the 2xx answer, or
 * rejects with the error `toError` makes (QuotaExceededError on quota_exceeded, which also stops
 * every other user of the limiter until 00:00 UTC). Reports each attempt to `onRequest` and the
 * logger; neither ever sees a header, a body or a query string.
 */
export async function sendWithRetries(
  spec: CallSpec,
  environment: AttemptEnvironment,
): Promise<AxiosResponse> {
  const { clock, logger } = environment;
  let attempt = 0;
  let policyAttempt = 0;
  let refreshed = false;
  for (;;) {
    attempt += 1;
    const release = await spec.limiter.acquire();
    const sentAt = clock.now();
    let outcome: { readonly response: AxiosResponse } | { readonly failure: ClassifiedFailure };
    try {
      outcome = { response: await spec.send() };
    } catch (error) {
      // Only transport failures are classified; anything else (an AuthError from the token refresh
      // inside `send`, a bug) propagates as it is. Axios errors are never passed on: their config
      // holds the request's headers and body.
      if (!isAxiosError(error)) throw error;
      outcome = { failure: classifyNetworkError(error) };
    } finally {
      // The request is over, answered or not: the limiter counts its window from now.
      release();
    }
    if ('failure' in outcome) {
      const { failure } = outcome;
      report(spec, environment, attempt, sentAt, undefined, failure);
      const delay = decide(spec, environment, ++policyAttempt, failure);
      if (delay === 0) throw finalError(spec, failure, attempt, sentAt);
      await clock.sleep(delay);
      continue;
    }
    const { response } = outcome;
    if (response.status >= 200 && response.status < 300) {
      report(spec, environment, attempt, sentAt, response.status, undefined);
      return response;
    }
    const failure = classifyResponse(
      response.status,
      response.data,
      response.headers as Record<string, unknown>,
      clock.now(),
    );
    report(spec, environment, attempt, sentAt, response.status, failure);
    if (failure.kind === 'unauthorized' && spec.onUnauthorized && !refreshed) {
      refreshed = true;
      logger?.info(
        { ...logFields(spec), attempt },
        'access token refused (401): refreshing once and retrying',
      );
      await spec.onUnauthorized();
      continue;
    }
    if (failure.kind === 'quota-exceeded') {
      const resumeAt = nextUtcMidnight(clock.now());
      spec.limiter.markQuotaExhausted(resumeAt);
      logger?.warn({ ...logFields(spec), resumeAt: resumeAt.toISOString() }, 'daily quota exceeded');
      throw new QuotaExceededError(
        `Constant Contact's daily request quota for this API key is used up (${spec.request.method} ${spec.request.pathTemplate} answered 429 quota_exceeded); it resets at ${resumeAt.toISOString()}`,
        resumeAt,
        {
          request: spec.request,
          status: 429,
          ...errorText(failure),
          attempts: attempt,
          sentAt,
        },
      );
    }
    const delay = decide(spec, environment, ++policyAttempt, failure);
    if (delay === 0) throw finalError(spec, failure, attempt, sentAt);
    await clock.sleep(delay);
  }
}

function decide(
  spec: CallSpec,
  environment: AttemptEnvironment,
  attempt: number,
  failure: ClassifiedFailure,
) {
  const delay = retryDelay(
    {
      attempt,
      failure: failure.kind,
      idempotent: spec.idempotent,
      retryAfterMs: failure.retryAfterMs,
      jitter: environment.random(),
    },
    environment.retryPolicy,
  );
  if (delay > 0)
    environment.logger?.warn(
      { ...logFields(spec), failure: failure.kind, status: failure.status, attempt, delayMs: delay },
      'request failed; retrying',
    );
  return delay;
}

function finalError(spec: CallSpec, failure: ClassifiedFailure, attempts: number, sentAt: number) {
  return spec.toError({
    ...failure,
    attempts,
    sentAt,
    mayHaveSucceeded: !spec.idempotent && ambiguousFailures.has(failure.kind),
  });
}

/** CC's error_key and error_message of a failure, as error options. */
export function errorText(failure: ClassifiedFailure): { errorKey?: string; errorMessage?: string } {
  return {
    ...(failure.errorKey === undefined ? {} : { errorKey: failure.errorKey }),
    ...(failure.errorMessage === undefined ? {} : { errorMessage: failure.errorMessage }),
  };
}

function logFields(spec: CallSpec) {
  return { endpoint: spec.endpoint, method: spec.request.method, path: spec.request.pathTemplate };
}

function report(
  spec: CallSpec,
  environment: AttemptEnvironment,
  attempt: number,
  sentAt: number,
  status: number | undefined,
  failure: ClassifiedFailure | undefined,
): void {
  const durationMs = environment.clock.now() - sentAt;
  environment.logger?.debug(
    { ...logFields(spec), status, durationMs, attempt, ...(failure ? { failure: failure.kind } : {}) },
    'constant contact request',
  );
  if (!environment.onRequest) return;
  try {
    environment.onRequest({
      endpoint: spec.endpoint,
      method: spec.request.method,
      pathTemplate: spec.request.pathTemplate,
      status,
      durationMs,
      attempt,
      throttled: failure?.kind === 'throttled',
      quotaExceeded: failure?.kind === 'quota-exceeded',
      ...(failure?.networkCode === undefined ? {} : { failure: failure.networkCode }),
    });
  } catch {
    // An observer's failure must not fail the request it observes.
  }
}
