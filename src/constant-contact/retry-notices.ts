import type { ApiLogger } from './request-observer';
import type { FailureKind } from './retry-policy';

/**
 * The fields of the `warn` event that `sendWithRetries` logs before it waits to retry a call. The
 * event's message is `retryNotice(fields)`. No field holds a header, a body or a query string.
 */
export interface RetryNoticeFields {
  readonly event: 'retry';
  readonly endpoint: 'api' | 'token';
  readonly method: string;
  /** The path template (bounded cardinality, for metrics and structured logs). */
  readonly path: string;
  /** The concrete path without query string, e.g. `/v3/contact_lists/04fe9a97-...`. */
  readonly requestPath: string;
  readonly failure: FailureKind;
  readonly status: number | undefined;
  /** For failures without an answer: ECONNREFUSED, ETIMEDOUT, ... */
  readonly networkCode: string | undefined;
  /** Constant Contact's error_key, when the answer had one (`throttled`). */
  readonly errorKey: string | undefined;
  readonly retryAfterMs: number | undefined;
  /** The attempt that failed (1 for the first). */
  readonly attempt: number;
  /** The attempt about to be made after the wait. */
  readonly nextAttempt: number;
  /** The most attempts a failure of this kind gets (`attemptLimit`). */
  readonly maxAttempts: number;
  readonly delayMs: number;
}

/** `4 s`, `0.8 s`, `16 s`: whole seconds as they are, under 10 s one decimal, else rounded. */
export function secondsText(ms: number): string {
  const seconds = ms / 1000;
  if (Number.isInteger(seconds)) return `${seconds} s`;
  return `${seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)} s`;
}

/**
 * The line a person reads while a call waits to be retried, e.g.
 * `retrying POST /v3/activities/contacts_json_import in 4 s (attempt 3/6): ECONNREFUSED`.
 */
export function retryNotice(fields: RetryNoticeFields): string {
  const why =
    fields.networkCode ??
    [
      `HTTP ${fields.status ?? '?'}`,
      ...(fields.errorKey ? [` ${fields.errorKey}`] : []),
      ...(fields.retryAfterMs === undefined ? [] : [`, Retry-After ${secondsText(fields.retryAfterMs)}`]),
    ].join('');
  return `retrying ${fields.method} ${fields.requestPath} in ${secondsText(fields.delayMs)} (attempt ${fields.nextAttempt}/${fields.maxAttempts}): ${why}`;
}

/**
 * An ApiLogger that writes one line per retry (`retryNotice`) and nothing else: what the CLI shows
 * on stderr so that no command waits in silence. Pass it as a client's `logger`.
 */
export function retryNoticeLogger(write: (line: string) => void): ApiLogger {
  const ignore = () => undefined;
  return {
    debug: ignore,
    info: ignore,
    error: ignore,
    warn(object, message) {
      if (object.event === 'retry' && message !== undefined) write(message);
    },
  };
}
