import type { FailureKind } from './retry-policy';

/** Constant Contact's error_key and error_message, whichever body shape carried them. */
export interface ConstantContactErrorBody {
  readonly errorKey?: string;
  readonly errorMessage?: string;
}

/** One failed attempt, classified. */
export interface ClassifiedFailure extends ConstantContactErrorBody {
  readonly kind: FailureKind;
  readonly status?: number;
  readonly retryAfterMs?: number;
  /** For network failures: the error code (ECONNRESET, ...), never the error's message. */
  readonly networkCode?: string;
}

/**
 * Reads CC's error body: usually an array `[{error_key, error_message}]`, a single object for rate
 * limit and auth errors (API-NOTES.md "Limits and errors"), `{error, error_description}` from the
 * OAuth token endpoint. Several array entries are joined with "; ". Anything else gives `{}`.
 */
export function parseErrorBody(body: unknown): ConstantContactErrorBody {
  let data = body;
  if (typeof data === 'string' && /^\s*[[{]/.test(data)) {
    try {
      data = JSON.parse(data);
    } catch {
      return {};
    }
  }
  const entries = (Array.isArray(data) ? data : [data]).filter(
    (entry): entry is Record<string, unknown> => typeof entry === 'object' && entry !== null,
  );
  const keys: string[] = [];
  const messages: string[] = [];
  for (const entry of entries) {
    const key = entry.error_key ?? entry.error ?? entry.errorCode;
    const message = entry.error_message ?? entry.error_description ?? entry.errorSummary;
    if (typeof key === 'string') keys.push(key);
    if (typeof message === 'string') messages.push(message);
  }
  return {
    ...(keys.length > 0 ? { errorKey: keys.join('; ') } : {}),
    ...(messages.length > 0 ? { errorMessage: messages.join('; ') } : {}),
  };
}

/** Retry-After as milliseconds (seconds or an HTTP date), or undefined. */
export function parseRetryAfter(value: unknown, now: number): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Classifies a non-2xx answer. */
export function classifyResponse(
  status: number,
  body: unknown,
  headers: Readonly<Record<string, unknown>>,
  now: number,
): ClassifiedFailure {
  const parsed = parseErrorBody(body);
  const retryAfterMs = parseRetryAfter(headers['retry-after'], now);
  const common = { ...parsed, status, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  if (status === 429) {
    // Both limits answer 429; only the body tells the daily quota from the per-second throttle.
    const quota = parsed.errorKey?.includes('quota_exceeded') ?? false;
    return { ...common, kind: quota ? 'quota-exceeded' : 'throttled' };
  }
  if (status === 401) return { ...common, kind: 'unauthorized' };
  if (status === 503) return { ...common, kind: 'unavailable' };
  if (status >= 500) return { ...common, kind: 'server-error' };
  return { ...common, kind: 'client-error' };
}

const connectFailures = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);
const timeouts = new Set(['ETIMEDOUT', 'ECONNABORTED', 'ESOCKETTIMEDOUT']);

/**
 * Classifies an attempt that got no answer. Only the error's `code` is read: messages of network
 * errors can quote the URL, and the URL of a token request must never reach a log.
 */
export function classifyNetworkError(error: unknown): ClassifiedFailure {
  const code =
    typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string'
      ? (error as { code: string }).code
      : 'UNKNOWN';
  const message = error instanceof Error ? error.message : '';
  if (connectFailures.has(code)) return { kind: 'connect-failed', networkCode: code };
  if (timeouts.has(code) || /timeout/i.test(message)) return { kind: 'timeout', networkCode: code };
  return { kind: 'connection-lost', networkCode: code };
}
