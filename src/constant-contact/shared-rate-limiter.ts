import { type Clock, systemClock } from './clock';
import type { PermitRule } from './permit-window';
import type { QuotaStatus, RateLimits, ReleasePermit, SlidingWindowRateLimiter } from './rate-limiter';
import type { RequestLimiter, RequestPermitStore } from './request-limiter';

export interface SharedRateLimiterOptions {
  /** This process's limiter of the key, asked first: one process never queues on the store. */
  readonly local: SlidingWindowRateLimiter;
  readonly store: RequestPermitStore;
  /** The key's id in the store (a hash of client id and base URL, never a credential). */
  readonly key: string;
  readonly requestsPerSecond: number;
  readonly clock?: Clock;
  /** The server's window; default 1000 ms. */
  readonly windowMs?: number;
  /** How long a permit in flight holds others back at most; default `defaultPermitLeaseMs`. */
  readonly leaseMs?: number;
}

/**
 * A permit in flight stops holding other processes back this long after its grant, released or
 * not: a process killed mid-request then stalls its key for at most this (plus a window), while
 * any request has long arrived at the server by then (an import's 4 MB upload included).
 */
export const defaultPermitLeaseMs = 30_000;

/** The longest one wait between two asks of the store: a release elsewhere can free a permit. */
const maxPollMs = 1_000;

/**
 * The rate limiter of an API key for every process that uses one state (several `exportctl run`,
 * a cron `run --due` beside `watch`, the workers of a run): each request first takes a permit of
 * this process's limiter, then reserves one in the shared store, which grants it only when the
 * key's permits of all processes together allow it (`nextPermitTime`); released, both are marked
 * over. The daily quota stays as this process counts it.
 */
export class SharedRateLimiter implements RequestLimiter {
  private readonly local: SlidingWindowRateLimiter;
  private readonly store: RequestPermitStore;
  private readonly key: string;
  private readonly clock: Clock;
  private rule: PermitRule;

  constructor(options: SharedRateLimiterOptions) {
    this.local = options.local;
    this.store = options.store;
    this.key = options.key;
    this.clock = options.clock ?? systemClock;
    this.rule = {
      requestsPerSecond: options.requestsPerSecond,
      windowMs: options.windowMs ?? 1_000,
      leaseMs: options.leaseMs ?? defaultPermitLeaseMs,
    };
  }

  async acquire(): Promise<ReleasePermit> {
    const releaseLocal = await this.local.acquire();
    let permit: string;
    try {
      permit = await this.reserve();
    } catch (error) {
      releaseLocal();
      throw error;
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      releaseLocal();
      // Not awaited: the request is over either way. A release that fails leaves the permit in
      // flight until its lease ends, which only slows the key down for a while.
      this.store.release(this.key, permit).catch(() => {});
    };
  }

  markQuotaExhausted(resumeAt: Date): void {
    this.local.markQuotaExhausted(resumeAt);
  }

  quota(): QuotaStatus {
    return this.local.quota();
  }

  configure(limits: Partial<RateLimits>): void {
    this.local.configure(limits);
    if (limits.requestsPerSecond !== undefined)
      this.rule = { ...this.rule, requestsPerSecond: limits.requestsPerSecond };
  }

  private async reserve(): Promise<string> {
    for (;;) {
      const answer = await this.store.reserve(this.key, this.rule);
      if (answer.granted) return answer.permit;
      await this.clock.sleep(Math.min(Math.max(1, answer.retryInMs), maxPollMs));
    }
  }
}
