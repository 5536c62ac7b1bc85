import { type Clock, systemClock } from './clock';
import { nextUtcMidnight, QuotaExceededError } from './constant-contact-errors';

/** An API key's limits (the connection's `spec.limits`). */
export interface RateLimits {
  /** Most requests in any window of `windowMs` (CC: 4 per second; partner keys more). */
  readonly requestsPerSecond: number;
  /** Requests per UTC day (CC: 10,000). Tracked, so callers can see what is left. */
  readonly requestsPerDay: number;
}

export interface RateLimiterOptions extends Partial<RateLimits> {
  readonly clock?: Clock;
  /**
   * The window, in ms: 1000 plus a safety margin. The server counts arrivals, we count departures;
   * network jitter between two requests sent exactly 1000 ms apart could land them in one server
   * window, so the client keeps a little more distance than the limit strictly needs.
   */
  readonly windowMs?: number;
}

const defaults = {
  requestsPerSecond: 4,
  requestsPerDay: 10_000,
  windowMs: 1_050,
} as const satisfies Required<Omit<RateLimiterOptions, 'clock'>>;

/** What is left of the daily budget, as this process counted it. */
export interface QuotaStatus {
  readonly limit: number;
  /** Requests granted since 00:00 UTC by this limiter (this process). */
  readonly used: number;
  readonly remaining: number;
  /** The next 00:00 UTC. */
  readonly resetsAt: Date;
  /** Set when Constant Contact answered quota_exceeded: requests wait for this time. */
  readonly exhaustedUntil?: Date;
}

/**
 * A sliding-window rate limiter: never more than `requestsPerSecond` grants in any window of
 * `windowMs`, for every caller that shares the instance (see RateLimiterRegistry: one per API key).
 * Grants are first come, first served. It also counts the day's grants against `requestsPerDay`
 * and, once Constant Contact has said the quota is exceeded, refuses at once until 00:00 UTC.
 */
export class SlidingWindowRateLimiter {
  private limits: RateLimits;
  private readonly windowMs: number;
  private readonly clock: Clock;
  /** Times of the most recent grants, oldest first; at most `requestsPerSecond` kept. */
  private readonly recent: number[] = [];
  private readonly waiting: Array<{ resolve: () => void; reject: (error: unknown) => void }> = [];
  private pumping = false;
  private day = '';
  private usedToday = 0;
  private exhaustedUntil: number | undefined;

  constructor(options: RateLimiterOptions = {}) {
    this.limits = {
      requestsPerSecond: options.requestsPerSecond ?? defaults.requestsPerSecond,
      requestsPerDay: options.requestsPerDay ?? defaults.requestsPerDay,
    };
    this.windowMs = options.windowMs ?? defaults.windowMs;
    this.clock = options.clock ?? systemClock;
  }

  /** Changes the limits (a connection's manifest changed); takes effect for the next grant. */
  configure(limits: Partial<RateLimits>): void {
    this.limits = { ...this.limits, ...limits };
  }

  /**
   * Resolves when one request may be sent now. Rejects with QuotaExceededError while the daily quota
   * is known to be exhausted.
   */
  acquire(): Promise<void> {
    const refusal = this.quotaRefusal(this.clock.now());
    if (refusal) return Promise.reject(refusal);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      void this.pump();
    });
  }

  /** Records Constant Contact's quota_exceeded: every caller is refused until `resumeAt`. */
  markQuotaExhausted(resumeAt: Date): void {
    this.exhaustedUntil = resumeAt.getTime();
  }

  quota(): QuotaStatus {
    const now = this.clock.now();
    this.rollDay(now);
    return {
      limit: this.limits.requestsPerDay,
      used: this.usedToday,
      remaining: Math.max(0, this.limits.requestsPerDay - this.usedToday),
      resetsAt: nextUtcMidnight(now),
      ...(this.exhaustedUntil !== undefined && this.exhaustedUntil > now
        ? { exhaustedUntil: new Date(this.exhaustedUntil) }
        : {}),
    };
  }

  private async pump(): Promise<void> {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.waiting.length > 0) {
        const now = this.clock.now();
        const refusal = this.quotaRefusal(now);
        if (refusal) {
          for (const waiter of this.waiting.splice(0)) waiter.reject(refusal);
          break;
        }
        const wait = this.waitBeforeGrant(now);
        if (wait > 0) {
          await this.clock.sleep(wait);
          continue;
        }
        this.grant(now);
        this.waiting.shift()?.resolve();
      }
    } finally {
      this.pumping = false;
    }
  }

  private waitBeforeGrant(now: number): number {
    const limit = this.limits.requestsPerSecond;
    if (this.recent.length < limit) return 0;
    // The grant `limit` places back must have left the window before another one fits in it.
    const oldest = this.recent[this.recent.length - limit] ?? Number.NEGATIVE_INFINITY;
    return oldest + this.windowMs - now;
  }

  private grant(now: number): void {
    this.recent.push(now);
    while (this.recent.length > this.limits.requestsPerSecond) this.recent.shift();
    this.rollDay(now);
    this.usedToday += 1;
  }

  private rollDay(now: number): void {
    const day = new Date(now).toISOString().slice(0, 10);
    if (day !== this.day) {
      this.day = day;
      this.usedToday = 0;
    }
  }

  private quotaRefusal(now: number): QuotaExceededError | undefined {
    if (this.exhaustedUntil === undefined || now >= this.exhaustedUntil) return undefined;
    const resumeAt = new Date(this.exhaustedUntil);
    return new QuotaExceededError(
      `Constant Contact's daily request quota for this API key is used up until ${resumeAt.toISOString()}`,
      resumeAt,
    );
  }
}
