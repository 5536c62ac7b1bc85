import { type Clock, systemClock } from './clock';
import { type RateLimits, SlidingWindowRateLimiter } from './rate-limiter';

/** Identifies an API key: Constant Contact counts limits per key, and a key belongs to one API. */
export interface ApiKeyIdentity {
  readonly clientId: string;
  /** The API base URL (or the token endpoint URL, for the token limiter). */
  readonly baseUrl: string;
}

/**
 * One rate limiter per API key, shared by every client instance that uses the key, so that runs of
 * different destinations on one connection (or two connections on one key) together stay under the
 * limits. Use `sharedRateLimiters` in production; tests make their own with a fake clock.
 */
export class RateLimiterRegistry {
  private readonly apiLimiters = new Map<string, SlidingWindowRateLimiter>();
  private readonly tokenLimiters = new Map<string, SlidingWindowRateLimiter>();
  private readonly clock: Clock;

  constructor(options: { clock?: Clock } = {}) {
    this.clock = options.clock ?? systemClock;
  }

  /**
   * The API limiter of a key. The first caller creates it; later callers share it, and their limits
   * (when given) replace the previous ones: a changed manifest applies to every user of the key.
   */
  forApiKey(key: ApiKeyIdentity, limits: Partial<RateLimits> = {}): SlidingWindowRateLimiter {
    const id = `${key.clientId}\n${key.baseUrl}`;
    let limiter = this.apiLimiters.get(id);
    if (limiter) limiter.configure(limits);
    else {
      limiter = new SlidingWindowRateLimiter({ ...limits, clock: this.clock });
      this.apiLimiters.set(id, limiter);
    }
    return limiter;
  }

  /**
   * The token endpoint's limiter of a client: at most 1 request per second (API-NOTES.md: the token
   * endpoint allows 1 request/second).
   */
  forTokenEndpoint(key: ApiKeyIdentity): SlidingWindowRateLimiter {
    const id = `${key.clientId}\n${key.baseUrl}`;
    let limiter = this.tokenLimiters.get(id);
    if (!limiter) {
      limiter = new SlidingWindowRateLimiter({
        requestsPerSecond: 1,
        requestsPerDay: Number.MAX_SAFE_INTEGER,
        clock: this.clock,
      });
      this.tokenLimiters.set(id, limiter);
    }
    return limiter;
  }
}

/** The process-wide registry every ConstantContactClient uses unless given another. */
export const sharedRateLimiters = new RateLimiterRegistry();
