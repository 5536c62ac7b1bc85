import { type ErrorContext, ExportctlError, type ExportctlErrorOptions } from '../errors';

/**
 * Every code a Constant Contact error carries. Stable: the engine, the reconciler and tests match on
 * them, never on message text.
 */
export const constantContactErrorCodes = {
  'list-not-found': 'GET /contact_lists/{list_id} answered 404: the declared list does not exist',
  'not-found': 'the API answered 404 for another resource (an activity, an export file)',
  'bad-request': 'the API answered 400: the request did not match its contract',
  unauthorized: 'the API answered 401 again after a token refresh',
  forbidden: 'the API answered 403: missing scope or privilege, or the application is deactivated',
  conflict: 'the API answered 409: the resource conflicts with an existing one',
  'unsupported-media-type': 'the API answered 415',
  'client-error': 'the API answered another 4xx status',
  throttled: 'the API kept answering 429 throttled after every retry',
  'quota-exceeded': "the API key's daily request quota is used up until 00:00 UTC",
  'server-error': 'the API kept answering 5xx after every retry (or once, for a request that is not retried)',
  'network-error': 'the connection failed or was lost',
  'request-timeout': 'no answer within the request timeout',
  'unexpected-response': 'a 2xx answer whose body is not what the contract describes',
  'reauthorization-required': 'the token endpoint refused the refresh token (invalid_grant)',
  'invalid-client': 'the token endpoint refused the client ID or secret',
  'token-request-failed': 'the token endpoint failed in another way',
  'activity-wait-timeout': 'an activity did not reach a final state within the wait limit',
  'contact-too-large': 'one contact alone makes an import body too large',
  'invalid-argument':
    'a call was given what Constant Contact would refuse or drop (too many items, no list, a body of 4 MB), or a client setting from the environment cannot be used',
} as const;

export type ConstantContactErrorCode = keyof typeof constantContactErrorCodes;

/** Where a failed request went: never its query string, headers or body (they may hold secrets). */
export interface RequestDescription {
  /** GET, POST. */
  readonly method: string;
  /** The path template, e.g. `/contact_lists/{list_id}`. */
  readonly pathTemplate: string;
  /** The concrete path without query string, e.g. `/v3/contact_lists/04fe9a97-...`. */
  readonly path: string;
}

export interface ConstantContactErrorOptions extends ExportctlErrorOptions {
  readonly request?: RequestDescription;
  /** The HTTP status, when an answer came. */
  readonly status?: number;
  /** Constant Contact's `error_key` (or the OAuth `error`), when its body carried one. */
  readonly errorKey?: string;
  /** Constant Contact's `error_message` (or the OAuth `error_description`). */
  readonly errorMessage?: string;
  /** How many attempts were made. */
  readonly attempts?: number;
  /**
   * True when the request may have been carried out although no success answer came (a POST that
   * timed out, lost its connection, or got a 5xx). The import is not idempotent: before resubmitting,
   * look for the activity with `listActivities` (created at or after `sentAt`).
   */
  readonly mayHaveSucceeded?: boolean;
  /** When the last attempt was sent (epoch ms). */
  readonly sentAt?: number;
}

/**
 * A call to Constant Contact (API or token endpoint) that failed for good: retries, if any, are
 * spent. Carries the HTTP status, CC's error_key/error_message and the request's method and path.
 */
export class ConstantContactError extends ExportctlError<ConstantContactErrorCode> {
  readonly status: number | undefined;
  readonly errorKey: string | undefined;
  readonly errorMessage: string | undefined;
  readonly request: RequestDescription | undefined;
  readonly attempts: number;
  readonly mayHaveSucceeded: boolean;
  readonly sentAt: number | undefined;

  constructor(code: ConstantContactErrorCode, message: string, options: ConstantContactErrorOptions = {}) {
    super(code, message, { ...options, context: requestContext(options) });
    this.status = options.status;
    this.errorKey = options.errorKey;
    this.errorMessage = options.errorMessage;
    this.request = options.request;
    this.attempts = options.attempts ?? 1;
    this.mayHaveSucceeded = options.mayHaveSucceeded ?? false;
    this.sentAt = options.sentAt;
  }
}

/** The OAuth side failed: the connection must be re-authorised, or its client credentials fixed. */
export class AuthError extends ConstantContactError {}

/** Throttled (429 `throttled`) on every attempt: back off longer, or share the key less. */
export class RateLimitError extends ConstantContactError {}

/**
 * The daily quota is used up (429 `quota_exceeded`): no retry helps before `resumeAt`, the next
 * 00:00 UTC. The engine keeps its checkpoint and resumes then.
 */
export class QuotaExceededError extends ConstantContactError {
  readonly resumeAt: Date;

  constructor(message: string, resumeAt: Date, options: ConstantContactErrorOptions = {}) {
    super('quota-exceeded', message, {
      ...options,
      hint:
        options.hint ??
        `the quota resets at ${resumeAt.toISOString()}; resume the run then (it keeps its checkpoint)`,
    });
    this.resumeAt = resumeAt;
  }

  override toJSON() {
    return { ...super.toJSON(), resumeAt: this.resumeAt.toISOString() };
  }
}

function requestContext(options: ConstantContactErrorOptions): ErrorContext {
  return {
    ...options.context,
    ...(options.request
      ? {
          method: options.request.method,
          path: options.request.path,
          pathTemplate: options.request.pathTemplate,
        }
      : {}),
    ...(options.status === undefined ? {} : { status: options.status }),
    ...(options.errorKey === undefined ? {} : { errorKey: options.errorKey }),
    ...(options.attempts === undefined ? {} : { attempts: options.attempts }),
    ...(options.mayHaveSucceeded ? { mayHaveSucceeded: true } : {}),
  };
}

/** The next 00:00 UTC strictly after `now` (epoch ms): when a daily quota resets. */
export function nextUtcMidnight(now: number): Date {
  const date = new Date(now);
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() + 1));
}
