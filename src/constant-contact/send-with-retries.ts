import { type AxiosResponse, isAxiosError } from 'axios';
import { type ClassifiedFailure, classifyNetworkError, classifyResponse } from './classify-failure';
import type { Clock } from './clock';
import {
  type ConstantContactError,
  nextUtcMidnight,
  QuotaExceededError,
  type RequestDescription,
} from './constant-contact-errors';
import type { RequestLimiter } from './request-limiter';
import type { ApiLogger, OnApiRequest } from './request-observer';
import { type RetryNoticeFields, retryNotice } from './retry-notices';
import { ambiguousFailures, attemptLimit, type RetryPolicy, retryDelay } from './retry-policy';

/** What every request of one client shares: time, randomness, policy, observers. */
export interface AttemptEnvironment {
  readonly clock: Clock;
  /** Returns numbers in [0, 1): the jitter source. */
  readonly random: () => number;
  readonly retryPolicy: RetryPolicy;
  /**
   * The request timeout: how long one call may take, every attempt and every wait between them
   * included (from its first attempt on). Undefined: only the retry policy bounds it.
   */
  readonly callTimeoutMs?: number | undefined;
  readonly onRequest?: OnApiRequest | undefined;
  readonly logger?: ApiLogger | undefined;
}

/** Facts about a failure that end the call, handed to `toError`. */
export interface FinalFailure extends ClassifiedFailure {
  readonly attempts: number;
  readonly sentAt: number;
  readonly mayHaveSucceeded: boolean;
  /**
   * Set when the retry policy would have tried again but the call's time was up: its time budget
   * (the request timeout, or more for a transfer).
   */
  readonly outOfTimeMs?: number;
}

/** One logical call: how to send one attempt, and how to turn a final failure into an error. */
export interface CallSpec {
  readonly endpoint: 'api' | 'token';
  readonly request: RequestDescription;
  /** False when running the request twice would do the work twice (see RetryDecisionInput). */
  readonly idempotent: boolean;
  readonly limiter: RequestLimiter;
  /** How long one attempt may wait for its answer, when the call has time enough left. */
  readonly attemptTimeoutMs: number;
  /**
   * An upload or download whose one attempt may rightly take longer than the request timeout (an
   * import of up to 4 MB, an export file): its call gets at least one whole `attemptTimeoutMs`.
   */
  readonly transfer?: boolean;
  /**
   * Sends one attempt. Must resolve with the answer for every HTTP status (validateStatus: all).
   * `timeoutMs()` is the timeout to give the HTTP exchange, asked for just before it starts (after
   * any token refresh): `attemptTimeoutMs` cut to what is left of the call's time, at least 1 ms.
   */
  readonly send: (timeoutMs: () => number) => Promise<AxiosResponse>;
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
 * logger, and warns the logger before every wait to retry (`event: 'retry'`, its message a
 * `retryNotice` line); neither ever sees a header, a body or a query string.
 *
 * The whole call, attempts and waits, ends within `environment.callTimeoutMs` of its first attempt
 * (a transfer's: within at least one `attemptTimeoutMs`): no wait is started that would end past
 * that time, and each attempt's timeout is cut to what is left of it.
 */
export async function sendWithRetries(
  spec: CallSpec,
  environment: AttemptEnvironment,
): Promise<AxiosResponse> {
  const { clock, logger } = environment;
  const budgetMs =
    environment.callTimeoutMs === undefined
      ? undefined
      : spec.transfer
        ? Math.max(environment.callTimeoutMs, spec.attemptTimeoutMs)
        : environment.callTimeoutMs;
  let deadline: number | undefined;
  const timeoutMs = () =>
    deadline === undefined
      ? spec.attemptTimeoutMs
      : Math.max(1, Math.min(spec.attemptTimeoutMs, deadline - clock.now()));
  let attempt = 0;
  let policyAttempt = 0;
  let refreshed = false;
  for (;;) {
    attempt += 1;
    const release = await spec.limiter.acquire();
    const sentAt = clock.now();
    // The budget counts from the first attempt: waiting for the rate limiter is not a failure.
    if (deadline === undefined && budgetMs !== undefined) deadline = sentAt + budgetMs;
    let outcome: { readonly response: AxiosResponse } | { readonly failure: ClassifiedFailure };
    try {
      outcome = { response: await spec.send(timeoutMs) };
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
      const decision = decide(spec, environment, attempt, ++policyAttempt, failure, deadline, budgetMs);
      if (decision.delay === 0) throw finalError(spec, failure, attempt, sentAt, decision.outOfTimeMs);
      await clock.sleep(decision.delay);
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
    const decision = decide(spec, environment, attempt, ++policyAttempt, failure, deadline, budgetMs);
    if (decision.delay === 0) throw finalError(spec, failure, attempt, sentAt, decision.outOfTimeMs);
    await clock.sleep(decision.delay);
  }
}

/**
 * The wait before the next attempt (0: give up), and whether giving up is for lack of time. Warns
 * the logger with a retry notice when it waits.
 */
function decide(
  spec: CallSpec,
  environment: AttemptEnvironment,
  attempt: number,
  policyAttempt: number,
  failure: ClassifiedFailure,
  deadline: number | undefined,
  budgetMs: number | undefined,
): { delay: number; outOfTimeMs?: number } {
  const input = {
    attempt: policyAttempt,
    failure: failure.kind,
    idempotent: spec.idempotent,
    retryAfterMs: failure.retryAfterMs,
    jitter: environment.random(),
  };
  const remainingMs = deadline === undefined ? undefined : deadline - environment.clock.now();
  const delay = retryDelay({ ...input, remainingMs }, environment.retryPolicy);
  if (delay === 0) {
    const outOfTime = budgetMs !== undefined && retryDelay(input, environment.retryPolicy) > 0;
    return outOfTime ? { delay, outOfTimeMs: budgetMs } : { delay };
  }
  const fields: RetryNoticeFields = {
    event: 'retry',
    ...logFields(spec),
    requestPath: spec.request.path,
    failure: failure.kind,
    status: failure.status,
    networkCode: failure.networkCode,
    errorKey: failure.errorKey,
    retryAfterMs: failure.retryAfterMs,
    attempt,
    nextAttempt: attempt + 1,
    maxAttempts: attempt - policyAttempt + attemptLimit(failure.kind, environment.retryPolicy),
    delayMs: delay,
  };
  environment.logger?.warn({ ...fields }, retryNotice(fields));
  return { delay };
}

function finalError(
  spec: CallSpec,
  failure: ClassifiedFailure,
  attempts: number,
  sentAt: number,
  outOfTimeMs: number | undefined,
) {
  return spec.toError({
    ...failure,
    attempts,
    sentAt,
    mayHaveSucceeded: !spec.idempotent && ambiguousFailures.has(failure.kind),
    ...(outOfTimeMs === undefined ? {} : { outOfTimeMs }),
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
