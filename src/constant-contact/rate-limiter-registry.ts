import { createHash } from 'node:crypto';
import { type Clock, systemClock } from './clock';
import { type RateLimits, SlidingWindowRateLimiter } from './rate-limiter';
import type { RequestLimiter, RequestPermitStore } from './request-limiter';
import { SharedRateLimiter } from './shared-rate-limiter';

/** Identifies an API key: Constant Contact counts limits per key, and a key belongs to one API. */
export interface ApiKeyIdentity {
  readonly clientId: string;
  /** The API base URL (or the token endpoint URL, for the token limiter). */
  readonly baseUrl: string;
}

/**
 * The id of a key's limiter in a shared permit store: a hash of the client id (not a secret, but
 * not something to leave in a table either) and the URL, so keys of two APIs never share a window.
 */
export function permitKeyOf(endpoint: 'api' | 'token', key: ApiKeyIdentity): string {
  return createHash('sha256')
    .update(`${endpoint}\0${key.clientId}\0${key.baseUrl}`)
    .digest('hex')
    .slice(0, 32);
}

export interface RateLimiterRegistryOptions {
  readonly clock?: Clock;
  /**
   * Where the permits of every process using the same state are reserved (the wiring's
   * `rateLimitersFor`). Absent: limits hold within this process only.
   */
  readonly permits?: RequestPermitStore;
}

/**
 * One rate limiter per API key, shared by every client instance that uses the key, so that runs of
 * different destinations on one connection (or two connections on one key) together stay under the
 * limits; given a permit store, together with every other process that uses it. Commands get theirs
 * from the wiring (`rateLimitersFor(store)`); `sharedRateLimiters` is the process-only default;
 * tests make their own with a fake clock.
 */
export class RateLimiterRegistry {
  private readonly apiLimiters = new Map<string, RequestLimiter>();
  private readonly tokenLimiters = new Map<string, RequestLimiter>();
  private readonly clock: Clock;
  private readonly permits: RequestPermitStore | undefined;

  constructor(options: RateLimiterRegistryOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.permits = options.permits;
  }

  /**
   * The API limiter of a key. The first caller creates it; later callers share it, and their limits
   * (when given) replace the previous ones: a changed manifest applies to every user of the key.
   */
  forApiKey(key: ApiKeyIdentity, limits: Partial<RateLimits> = {}): RequestLimiter {
    const id = `${key.clientId}\n${key.baseUrl}`;
    let limiter = this.apiLimiters.get(id);
    if (limiter) limiter.configure(limits);
    else {
      limiter = this.shared('api', key, new SlidingWindowRateLimiter({ ...limits, clock: this.clock }));
      this.apiLimiters.set(id, limiter);
    }
    return limiter;
  }

  /**
   * The token endpoint's limiter of a client: at most 1 request per second (API-NOTES.md: the token
   * endpoint allows 1 request/second).
   */
  forTokenEndpoint(key: ApiKeyIdentity): RequestLimiter {
    const id = `${key.clientId}\n${key.baseUrl}`;
    let limiter = this.tokenLimiters.get(id);
    if (!limiter) {
      const local = new SlidingWindowRateLimiter({
        requestsPerSecond: 1,
        requestsPerDay: Number.MAX_SAFE_INTEGER,
        clock: this.clock,
      });
      limiter = this.shared('token', key, local);
      this.tokenLimiters.set(id, limiter);
    }
    return limiter;
  }

  /** `local` alone, or behind the permit store when there is one. */
  private shared(
    endpoint: 'api' | 'token',
    key: ApiKeyIdentity,
    local: SlidingWindowRateLimiter,
  ): RequestLimiter {
    if (this.permits === undefined) return local;
    return new SharedRateLimiter({
      local,
      store: this.permits,
      key: permitKeyOf(endpoint, key),
      requestsPerSecond: local.currentLimits().requestsPerSecond,
      clock: this.clock,
    });
  }
}

/** The process-wide registry every ConstantContactClient uses unless given another. */
export const sharedRateLimiters = new RateLimiterRegistry();
