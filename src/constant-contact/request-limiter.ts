import type { PermitRule } from './permit-window';
import type { QuotaStatus, RateLimits, ReleasePermit } from './rate-limiter';

/**
 * What a request waits on before it is sent: one per API key (see RateLimiterRegistry). The
 * process-local `SlidingWindowRateLimiter` is one; `SharedRateLimiter` adds a permit store that
 * every process using the same state shares.
 */
export interface RequestLimiter {
  /**
   * Resolves when one request may be sent now, with the function to call when it is over. Rejects
   * with QuotaExceededError while the daily quota is known to be exhausted, or with the store's
   * error when a shared permit store cannot be reached.
   */
  acquire(): Promise<ReleasePermit>;
  /** Records Constant Contact's quota_exceeded: every caller is refused until `resumeAt`. */
  markQuotaExhausted(resumeAt: Date): void;
  /** What is left of the daily budget, as this process counted it. */
  quota(): QuotaStatus;
  /** Changes the limits (a connection's manifest changed); takes effect for the next grant. */
  configure(limits: Partial<RateLimits>): void;
}

/** The answer of `RequestPermitStore.reserve`. */
export type PermitReservation =
  | { readonly granted: true; readonly permit: string }
  | { readonly granted: false; readonly retryInMs: number };

/**
 * Where the permits of every API key are recorded for all processes that use one state: a port
 * the state backends implement (a side SQLite database next to a SQLite state, a table of a
 * PostgreSQL state), picked by the wiring. Keys are opaque (a hash of the API key's client id and
 * base URL), never a credential.
 */
export interface RequestPermitStore {
  /**
   * Atomically, for every process: reads `key`'s recent permits and, when `nextPermitTime` allows
   * one now (the store's own clock), records a new one in flight and answers its id; else answers
   * how long to wait before asking again. Forgets permits that can no longer hold anyone back.
   */
  reserve(key: string, rule: PermitRule): Promise<PermitReservation>;
  /** Marks `permit` of `key` as over (now, by the store's clock). Releasing twice does nothing. */
  release(key: string, permit: string): Promise<void>;
}
