import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  QuotaExceededError,
  RateLimiterRegistry,
  type RequestLimiter,
  SlidingWindowRateLimiter,
} from '../../../src/constant-contact';
import { ScheduledClock } from '../../support/scheduled-clock';

/** The most grants in any window [s, s + windowMs): the worst window always starts at a grant. */
function busiestWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  for (let start = 0, end = 0; start < sorted.length; start++) {
    while (end < sorted.length && (sorted[end] as number) < (sorted[start] as number) + windowMs) end++;
    best = Math.max(best, end - start);
  }
  return best;
}

/** Grant times of `count` concurrent requests that are over as soon as they are sent. */
async function grantTimes(limiter: RequestLimiter, clock: ScheduledClock, count: number): Promise<number[]> {
  const times: number[] = [];
  await Promise.all(
    Array.from({ length: count }, () =>
      limiter.acquire().then((release) => {
        times.push(clock.now());
        release();
      }),
    ),
  );
  return times;
}

describe('SlidingWindowRateLimiter', () => {
  it('never grants more than N in any 1-second window, and no slower than that', async () => {
    const clock = new ScheduledClock();
    const start = clock.now();
    const limiter = new SlidingWindowRateLimiter({ requestsPerSecond: 4, windowMs: 1000, clock });
    const times = await grantTimes(limiter, clock, 25);
    expect(busiestWindow(times, 1000)).toBe(4);
    // 25 grants at 4 per second: the last one waits six full windows.
    expect(Math.max(...times) - start).toBe(6000);
    expect(times.map((time) => time - start).slice(0, 9)).toEqual([0, 0, 0, 0, 1000, 1000, 1000, 1000, 2000]);
  });

  it('counts a window from the end of a request, so slow requests hold the next ones back', async () => {
    const clock = new ScheduledClock();
    const start = clock.now();
    const limiter = new SlidingWindowRateLimiter({ requestsPerSecond: 2, clock });
    const grants: number[] = [];
    const request = async (durationMs: number) => {
      const release = await limiter.acquire();
      grants.push(clock.now() - start);
      await clock.sleep(durationMs);
      release();
    };
    await Promise.all([request(300), request(500), request(0), request(0)]);
    // The third waits for the first to end (300) plus a window; the fourth for the second (500).
    expect(grants).toEqual([0, 0, 1300, 1500]);
  });

  it('keeps every server window within the limit whatever the delays (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 6 }),
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: 3000 }),
            duration: fc.integer({ min: 0, max: 800 }),
            // Where between sending and the answer the server sees the request arrive.
            arrival: fc.double({ min: 0, max: 1, noNaN: true }),
          }),
          { minLength: 1, maxLength: 40 },
        ),
        async (perSecond, requests) => {
          const clock = new ScheduledClock();
          const limiter = new SlidingWindowRateLimiter({ requestsPerSecond: perSecond, clock });
          const arrivals: number[] = [];
          await Promise.all(
            requests.map(async ({ at, duration, arrival }) => {
              await clock.sleep(at);
              const release = await limiter.acquire();
              arrivals.push(clock.now() + arrival * duration);
              await clock.sleep(duration);
              release();
            }),
          );
          expect(arrivals).toHaveLength(requests.length);
          expect(busiestWindow(arrivals, 1000)).toBeLessThanOrEqual(perSecond);
        },
      ),
      { numRuns: 80 },
    );
  });

  it('counts the UTC day against the daily budget', async () => {
    const clock = new ScheduledClock(Date.UTC(2026, 10, 22, 23, 59, 58));
    const limiter = new SlidingWindowRateLimiter({ requestsPerSecond: 10, requestsPerDay: 100, clock });
    await grantTimes(limiter, clock, 7);
    expect(limiter.quota()).toMatchObject({ limit: 100, used: 7, remaining: 93 });
    expect(limiter.quota().resetsAt.toISOString()).toBe('2026-11-23T00:00:00.000Z');
    clock.advance(3000);
    (await limiter.acquire())();
    expect(limiter.quota()).toMatchObject({ used: 1, remaining: 99 });
  });

  it('refuses everyone once CC said quota_exceeded, until the reset', async () => {
    const clock = new ScheduledClock(Date.UTC(2026, 10, 22, 20));
    const limiter = new SlidingWindowRateLimiter({ clock });
    const resumeAt = new Date(Date.UTC(2026, 10, 23));
    limiter.markQuotaExhausted(resumeAt);
    const refused = await limiter.acquire().catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(QuotaExceededError);
    expect((refused as QuotaExceededError).code).toBe('quota-exceeded');
    expect((refused as QuotaExceededError).resumeAt).toEqual(resumeAt);
    expect(limiter.quota().exhaustedUntil).toEqual(resumeAt);
    clock.advance(4 * 3600_000);
    await expect(limiter.acquire()).resolves.toBeTypeOf('function');
  });

  it('applies new limits to the next grants', async () => {
    const clock = new ScheduledClock();
    const limiter = new SlidingWindowRateLimiter({ requestsPerSecond: 2, windowMs: 1000, clock });
    limiter.configure({ requestsPerSecond: 5 });
    const times = await grantTimes(limiter, clock, 10);
    expect(busiestWindow(times, 1000)).toBe(5);
  });
});

describe('RateLimiterRegistry', () => {
  it('gives every caller of one API key the same limiter, and other keys their own', async () => {
    const clock = new ScheduledClock();
    const registry = new RateLimiterRegistry({ clock });
    const key = { clientId: 'client', baseUrl: 'https://api.cc.email/v3' };
    const first = registry.forApiKey(key, { requestsPerSecond: 4 });
    const second = registry.forApiKey({ ...key });
    expect(second).toBe(first);
    expect(registry.forApiKey({ ...key, clientId: 'other' })).not.toBe(first);
    expect(registry.forApiKey({ ...key, baseUrl: 'http://127.0.0.1:1/v3' })).not.toBe(first);
    // Two callers sharing the key together stay under its limit.
    const times: number[] = [];
    await Promise.all(
      Array.from({ length: 12 }, (_, index) =>
        (index % 2 ? first : second).acquire().then((release) => {
          times.push(clock.now());
          release();
        }),
      ),
    );
    expect(busiestWindow(times, 1000)).toBe(4);
  });

  it('limits the token endpoint to 1 request per second per client', async () => {
    const clock = new ScheduledClock();
    const registry = new RateLimiterRegistry({ clock });
    const limiter = registry.forTokenEndpoint({ clientId: 'client', baseUrl: 'https://authz.example/token' });
    const times = await grantTimes(limiter, clock, 3);
    expect(busiestWindow(times, 1000)).toBe(1);
  });
});
