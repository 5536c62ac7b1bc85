import { describe, expect, it } from 'vitest';
import {
  nextPermitTime,
  type PermitReservation,
  type PermitRule,
  type PermitTimes,
  permitExpired,
  RateLimiterRegistry,
  type RequestPermitStore,
} from '../../../src/constant-contact';
import { ScheduledClock } from '../../support/scheduled-clock';

/** The permit store's contract in memory, on the test's clock: what two processes would share. */
class MemoryPermits implements RequestPermitStore {
  readonly rows = new Map<string, Map<string, { grantedAt: number; endedAt: number | undefined }>>();
  failNext = false;
  private next = 0;

  constructor(private readonly clock: ScheduledClock) {}

  async reserve(key: string, rule: PermitRule): Promise<PermitReservation> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error('store unreachable');
    }
    const now = this.clock.now();
    const permits = this.rows.get(key) ?? new Map();
    this.rows.set(key, permits);
    for (const [id, permit] of permits) if (permitExpired(permit, now, rule)) permits.delete(id);
    const next = nextPermitTime([...permits.values()] as PermitTimes[], now, rule);
    if (next.at > now) return { granted: false, retryInMs: next.at - now };
    const id = String(++this.next);
    permits.set(id, { grantedAt: now, endedAt: undefined });
    return { granted: true, permit: id };
  }

  async release(key: string, permit: string): Promise<void> {
    const row = this.rows.get(key)?.get(permit);
    if (row && row.endedAt === undefined) row.endedAt = this.clock.now();
  }
}

const key = { clientId: 'client', baseUrl: 'https://api.example/v3' };

describe('SharedRateLimiter', () => {
  it('keeps two registries (two processes) on one store to the limit together', async () => {
    const clock = new ScheduledClock();
    const store = new MemoryPermits(clock);
    const limiters = [1, 2].map(() =>
      new RateLimiterRegistry({ clock, permits: store }).forApiKey(key, { requestsPerSecond: 4 }),
    );
    const grants: number[] = [];
    await Promise.all(
      limiters.flatMap((limiter) =>
        Array.from({ length: 10 }, async () => {
          const release = await limiter.acquire();
          grants.push(clock.now());
          await clock.sleep(30);
          release();
        }),
      ),
    );
    grants.sort((a, b) => a - b);
    // Each grant waits a window after the end (grant + 30 ms) of the one four before it.
    for (let index = 4; index < grants.length; index++)
      expect(grants[index] as number).toBeGreaterThanOrEqual((grants[index - 4] as number) + 1030);
    // Alone, each registry would have let its own four go at the first instant.
    expect(grants.filter((at) => at === grants[0])).toHaveLength(4);
  });

  it('keeps keys apart and never stores the client id', async () => {
    const clock = new ScheduledClock();
    const store = new MemoryPermits(clock);
    const registry = new RateLimiterRegistry({ clock, permits: store });
    const a = registry.forApiKey(key, { requestsPerSecond: 1 });
    const b = registry.forApiKey({ ...key, clientId: 'other' }, { requestsPerSecond: 1 });
    const start = clock.now();
    const [releaseA, releaseB] = await Promise.all([a.acquire(), b.acquire()]);
    expect(clock.now()).toBe(start);
    releaseA();
    releaseB();
    expect(store.rows.size).toBe(2);
    for (const id of store.rows.keys()) expect(id).not.toContain('client');
  });

  it('gives its local permit back when the store fails, so the next request is not stuck', async () => {
    const clock = new ScheduledClock();
    const store = new MemoryPermits(clock);
    const limiter = new RateLimiterRegistry({ clock, permits: store }).forApiKey(key, {
      requestsPerSecond: 1,
    });
    store.failNext = true;
    await expect(limiter.acquire()).rejects.toThrow('store unreachable');
    const started = clock.now();
    (await limiter.acquire())();
    // Only the failed attempt's local permit (ended at once) held it back: one window at most.
    expect(clock.now() - started).toBeLessThanOrEqual(1000);
  });
});
