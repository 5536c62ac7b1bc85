/** One HTTP exchange with Constant Contact (one attempt), as reported to `onRequest`. */
export interface ApiRequestEvent {
  /** `api` for the REST API, `token` for the OAuth token endpoint. */
  readonly endpoint: 'api' | 'token';
  readonly method: string;
  /** The path template, e.g. `/contact_lists/{list_id}`: bounded cardinality, safe as a metric label. */
  readonly pathTemplate: string;
  /** The HTTP status, or undefined when no answer came (connection lost, timeout). */
  readonly status: number | undefined;
  readonly durationMs: number;
  /** 1 for the first try of a call, 2 for its first retry, and so on. */
  readonly attempt: number;
  /** A 429 `throttled` answer (per-second limit). */
  readonly throttled: boolean;
  /** A 429 `quota_exceeded` answer (daily limit). */
  readonly quotaExceeded: boolean;
  /** For failures without a status: the kind of network failure. */
  readonly failure?: string;
}

/** Receives every request event; must not throw (exceptions are ignored) and should be cheap. */
export type OnApiRequest = (event: ApiRequestEvent) => void;

type LogMethod = (object: Record<string, unknown>, message?: string) => void;

/**
 * The part of a pino logger the client uses. Pass a pino instance (or a child) as is. The client
 * never logs credentials, tokens, headers, request bodies or query strings.
 */
export interface ApiLogger {
  debug: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}
