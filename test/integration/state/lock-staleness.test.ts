import { describe, expect, it } from 'vitest';
import { isProcessAlive, type LockHolderRecord, lockRetryDelay, staleReason } from '../../../src/state';

const holder: LockHolderRecord = {
  lock: 'control-plane',
  identity: 'ops@example.com',
  command: 'apply',
  pid: 4242,
  hostname: 'host-a',
  since: 1_000_000,
  heartbeatAt: 1_000_000,
};
const check = { now: 1_000_000 + 60_000, hostname: 'host-a', staleAfterMs: 120_000 };

describe('staleReason', () => {
  it('keeps a live holder on this host and a fresh one on another host', () => {
    expect(staleReason(holder, { ...check, isProcessAlive: () => true })).toBeUndefined();
    expect(
      staleReason(holder, { ...check, hostname: 'host-b', isProcessAlive: () => false }),
    ).toBeUndefined();
  });

  it('judges a dead process on this host stale at once', () => {
    expect(staleReason(holder, { ...check, now: holder.since, isProcessAlive: () => false })).toBe(
      'process 4242 on host-a no longer exists',
    );
  });

  it('judges a silent holder stale past the bound, on any host (pids are reused)', () => {
    const late = { ...check, now: holder.heartbeatAt + 120_001 };
    expect(staleReason(holder, { ...late, hostname: 'host-b', isProcessAlive: () => true })).toBe(
      'no heartbeat from pid 4242 on host-a for 120s',
    );
    expect(staleReason(holder, { ...late, isProcessAlive: () => true })).toMatch(/no heartbeat/);
    expect(staleReason(holder, { ...late, now: late.now - 1, isProcessAlive: () => true })).toBeUndefined();
  });
});

describe('isProcessAlive', () => {
  it('knows this process and refuses process-group pids', () => {
    expect(isProcessAlive(process.pid)).toBe(true);
    expect(isProcessAlive(0)).toBe(false);
    expect(isProcessAlive(-1)).toBe(false);
    expect(isProcessAlive(2 ** 22 + 1)).toBe(false);
  });
});

describe('lockRetryDelay', () => {
  it('doubles from 25 ms to a 500 ms cap, jittered by ±20%', () => {
    expect([0, 1, 2, 3, 4, 5, 10, 50].map((attempt) => lockRetryDelay(attempt, 0.5))).toEqual([
      25, 50, 100, 200, 400, 500, 500, 500,
    ]);
    expect(lockRetryDelay(5, 0)).toBe(400);
    expect(lockRetryDelay(5, 0.999_999)).toBe(600);
  });
});
