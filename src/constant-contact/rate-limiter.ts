import { type Clock, systemClock } from './clock';
import { nextUtcMidnight, QuotaExceededError } from './constant-contact-errors';
import { nextPermitTime, type PermitTimes, permitExpired } from './permit-window';
import type { RequestLimiter } from './request-limiter';

/** An API key's limits (the connection's `spec.limits`). */
export interface RateLimits {
  /** Most requests in any window of `windowMs` (CC: 4 per second; partner keys more). */
  readonly requestsPerSecond: number;
  /** Requests per UTC day (CC: 10,000). Tracked, so callers can see what is left. */
  readonly requestsPerDay: number;
}

export interface RateLimiterOptions extends Partial<RateLimits> {
  readonly clock?: Clock;
  /** The window, in ms; default 1000. */
  readonly windowMs?: number;
}

const defaults = {
  requestsPerSecond: 4,
  requestsPerDay: 10_000,
  windowMs: 1_000,
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

/** Call when the request is over (answered or failed); calling again does nothing. */
export type ReleasePermit = () => void;

interface Permit extends PermitTimes {
  /** When the request was over; undefined while it is in flight. */
  endedAt: number | undefined;
}

/**
 * A rate limiter that keeps every window of `windowMs`, as the server sees it, to at most
 * `requestsPerSecond` requests, for every caller in this process that shares the instance (see
 * RateLimiterRegistry: one per API key). First come, first served.
 *
 * Requests hold their permit until they are over (`nextPermitTime` says why): counting from send
 * times instead lets jitter put limit + 1 requests into one server second. Other processes are not
 * seen: `SharedRateLimiter` puts a shared permit store behind this one.
 *
 * It also counts the day's grants against `requestsPerDay` and, once Constant Contact has said the
 * quota is exceeded, refuses at once until 00:00 UTC.
 */
export class SlidingWindowRateLimiter implements RequestLimiter {
  private limits: RateLimits;
  private readonly windowMs: number;
  private readonly clock: Clock;
  /** Permits in grant order, dropping those that can no longer hold anyone back. */
  private readonly permits: Permit[] = [];
  private readonly waiting: Array<{
    resolve: (release: ReleasePermit) => void;
    reject: (error: unknown) => void;
  }> = [];
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
    void this.pump();
  }

  /**
   * Resolves when one request may be sent now, with the function to call when it is over. Rejects
   * with QuotaExceededError while the daily quota is known to be exhausted.
   */
  acquire(): Promise<ReleasePermit> {
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

  /** The limits grants follow now. */
  currentLimits(): RateLimits {
    return this.limits;
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
        // Held back by a request still in flight: its release pumps again.
        if (wait === undefined) break;
        if (wait > 0) {
          await this.clock.sleep(wait);
          continue;
        }
        this.waiting.shift()?.resolve(this.grant(now));
      }
    } finally {
      this.pumping = false;
    }
  }

  /**
   * Milliseconds until the next grant may happen; undefined while a request that holds it back is
   * still in flight (its release pumps again).
   */
  private waitBeforeGrant(now: number): number | undefined {
    const rule = {
      requestsPerSecond: this.limits.requestsPerSecond,
      windowMs: this.windowMs,
      leaseMs: Infinity,
    };
    const permits = this.permits;
    while (permits.length > 0 && permitExpired(permits[0] as Permit, now, rule)) permits.shift();
    const next = nextPermitTime(permits, now, rule);
    return next.heldByInFlight ? undefined : next.at - now;
  }

  private grant(now: number): ReleasePermit {
    const permit: Permit = { grantedAt: now, endedAt: undefined };
    this.permits.push(permit);
    this.rollDay(now);
    this.usedToday += 1;
    return () => {
      if (permit.endedAt !== undefined) return;
      permit.endedAt = this.clock.now();
      void this.pump();
    };
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
