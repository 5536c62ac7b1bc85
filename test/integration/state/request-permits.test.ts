import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import type { PermitRule, RequestPermitStore } from '../../../src/constant-contact';
import { findStateBackend } from '../../../src/wiring/state-backends';
import { rateLimitersFor } from '../../../src/wiring/state-rate-limiters';
import { describeStateStoreContract } from '../../support/state-backends';
import { tempFolder } from '../../support/temp-folder';

interface Interval {
  readonly grantedAt: number;
  readonly endedAt: number;
}

/**
 * The most requests the server can have seen in one window (t - 1000, t]: a request arrives at any
 * time between its grant and its end, so it is the most intervals that meet one window.
 */
function worstWindow(intervals: readonly Interval[], windowMs = 1000): number {
  let worst = 0;
  for (const { grantedAt: t } of intervals) {
    const meeting = intervals.filter((i) => i.grantedAt <= t && i.endedAt > t - windowMs).length;
    worst = Math.max(worst, meeting);
  }
  return worst;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

describeStateStoreContract('request permits shared by the processes of one state', (backend) => {
  it('keeps one key to its requests per second across several openers, and other keys apart', async () => {
    const folder = tempFolder();
    // Three openers of one state: separate connections, as three processes would have.
    const stores = [
      await backend.open({ folder }),
      await backend.open({ folder }),
      await backend.open({ folder }),
    ];
    const key = { clientId: 'client-a', baseUrl: 'http://127.0.0.1:1/v3' };
    const other = { clientId: 'client-b', baseUrl: 'http://127.0.0.1:1/v3' };
    const intervals: Interval[] = [];
    let step = 0;
    const hammer = async (store: (typeof stores)[number], count: number) => {
      const limiter = rateLimitersFor(store).forApiKey(key, { requestsPerSecond: 4 });
      await Promise.all(
        Array.from({ length: count }, async () => {
          const release = await limiter.acquire();
          const grantedAt = Date.now();
          // Requests of a few ms to a few tens, as the sandbox answers them.
          await sleep((step++ * 7) % 25);
          const endedAt = Date.now();
          release();
          intervals.push({ grantedAt, endedAt });
        }),
      );
    };
    const started = Date.now();
    const busy = Promise.all(stores.map((store) => hammer(store, 6)));
    // Meanwhile another key of the same state: it waits on nobody.
    const otherLimiter = rateLimitersFor(stores[1] as (typeof stores)[number]).forApiKey(other, {
      requestsPerSecond: 4,
    });
    const otherTimes: number[] = [];
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        const release = await otherLimiter.acquire();
        otherTimes.push(Date.now() - started);
        release();
      }),
    );
    const otherDone = Date.now() - started;
    await busy;
    const total = Date.now() - started;

    expect(intervals).toHaveLength(18);
    expect(worstWindow(intervals)).toBeLessThanOrEqual(4);
    // 18 permits at 4 a second, each waiting a window after the end of the one four before it.
    expect(total).toBeGreaterThanOrEqual(3000);
    // The other key's four went while key A still had most of its queue ahead.
    expect(otherTimes).toHaveLength(4);
    expect(otherDone).toBeLessThan(total - 1500);
  }, 60_000);

  it('stops counting a permit nobody released once its lease is over', async () => {
    const store = await backend.open();
    const permits = findStateBackend(store)?.requestPermits(store) as RequestPermitStore;
    expect(permits).toBeDefined();
    const rule: PermitRule = { requestsPerSecond: 2, windowMs: 200, leaseMs: 1500 };
    const first = await permits.reserve('k', rule);
    const second = await permits.reserve('k', rule);
    expect(first.granted && second.granted).toBe(true);
    // Two in flight (a process died holding them): the third waits.
    const third = await permits.reserve('k', rule);
    expect(third).toMatchObject({ granted: false });
    // Another key is not held back.
    expect(await permits.reserve('other', rule)).toMatchObject({ granted: true });
    await sleep(1750);
    expect(await permits.reserve('k', rule)).toMatchObject({ granted: true });
  });

  it('grants the next permit a window after a release, and releasing twice does nothing', async () => {
    const store = await backend.open();
    const permits = findStateBackend(store)?.requestPermits(store) as RequestPermitStore;
    const rule: PermitRule = { requestsPerSecond: 1, windowMs: 1000, leaseMs: 30_000 };
    const first = await permits.reserve('k', rule);
    if (!first.granted) throw new Error('the first permit was refused');
    const held = await permits.reserve('k', rule);
    // In flight: the answer is "ask again in a window".
    expect(held).toMatchObject({ granted: false });
    expect(held.granted ? 0 : held.retryInMs).toBeGreaterThan(500);
    await permits.release('k', first.permit);
    await permits.release('k', first.permit);
    const soon = await permits.reserve('k', rule);
    expect(soon.granted).toBe(false);
    await sleep(1050);
    expect(await permits.reserve('k', rule)).toMatchObject({ granted: true });
  });

  if (backend.name === 'SQLite') {
    it('keeps them in a side file next to the state, keyed by a hash, never the client id', async () => {
      const folder = tempFolder();
      const store = await backend.open({ folder });
      const limiter = rateLimitersFor(store).forApiKey({
        clientId: 'visible-client-id',
        baseUrl: 'http://x/v3',
      });
      (await limiter.acquire())();
      const side = join(folder, 'state.db-rate-limits');
      expect(existsSync(side)).toBe(true);
      const Database = (await import('better-sqlite3')).default;
      const db = new Database(side, { readonly: true });
      try {
        const keys = db.prepare('SELECT key FROM request_permit_windows').all() as { key: string }[];
        expect(keys.length).toBeGreaterThan(0);
        for (const { key } of keys) expect(key).not.toContain('visible-client-id');
      } finally {
        db.close();
      }
    });
  }
});
