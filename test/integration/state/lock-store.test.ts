import { hostname } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LockTimeoutError, lockRetryDelay } from '../../../src/state';
import { fakeClock } from '../../support/fake-clock';
import { rejectionOf } from '../../support/rejection';
import { describeStateStoreContract } from '../../support/state-backends';
import { startStateChild } from '../../support/state-child';
import { openTestState } from '../../support/state-store';
import { tempFolder } from '../../support/temp-folder';

const ops = { identity: 'ops@example.com', command: 'apply' };
const analyst = { identity: 'analyst@example.com', command: 'run vip-newsletter' };

const timeout = (promise: Promise<unknown>) => rejectionOf(promise, LockTimeoutError);

describeStateStoreContract('locks in one process', (backend) => {
  it('records the holder and refuses a second taker, naming the holder exactly', async () => {
    const clock = fakeClock();
    const store = await backend.open({ clock, sleep: clock.sleep, random: () => 0.5 });
    const handle = await store.locks.acquire('control-plane', ops);
    expect(handle.holder).toEqual({
      lock: 'control-plane',
      ...ops,
      pid: process.pid,
      hostname: hostname(),
      since: clock.now(),
      heartbeatAt: clock.now(),
    });
    expect(handle.tookOver).toBeUndefined();
    expect(await store.locks.holder('control-plane')).toEqual(handle.holder);

    const error = await timeout(store.locks.acquire('control-plane', analyst, { timeoutMs: 30_000 }));
    expect(error.code).toBe('lock-timeout');
    expect(error.message).toBe(
      `the control-plane lock is held by ops@example.com running \`apply\` (pid ${process.pid} on ${hostname()}) ` +
        'since 2026-11-22T10:00:00Z; waited 30s',
    );
    expect(error.holder).toMatchObject({ ...ops, pid: process.pid, hostname: hostname() });
    // Polls with a doubling pause capped at 500 ms, the last one cut to the deadline.
    expect(clock.sleeps.slice(0, 7)).toEqual(
      [0, 1, 2, 3, 4, 5, 6].map((attempt) => lockRetryDelay(attempt, 0.5)),
    );
    expect(clock.sleeps.reduce((sum, ms) => sum + ms, 0)).toBe(30_000);

    const immediate = await timeout(store.locks.acquire('control-plane', analyst));
    expect(immediate.message).toMatch(/; waited 0s$/);
  });

  it('hands the lock to a waiter once released; other lock names are independent', async () => {
    const store = await backend.open();
    const first = await store.locks.acquire('destination:vip', analyst);
    const other = await store.locks.acquire('destination:sales', analyst);
    const waiting = store.locks.acquire('destination:vip', ops, { timeoutMs: 5000 });
    const releasedAt = Date.now() + 100;
    setTimeout(() => void first.release(), 100);
    const second = await waiting;
    expect(Date.now()).toBeGreaterThanOrEqual(releasedAt);
    expect(second.holder.identity).toBe('ops@example.com');
    await first.release();
    expect((await store.locks.holder('destination:vip'))?.identity).toBe('ops@example.com');
    expect((await store.locks.list()).map((holder) => holder.lock)).toEqual([
      'destination:sales',
      'destination:vip',
    ]);
    await other.release();
    await second.release();
    expect(await store.locks.list()).toEqual([]);
  });

  it('releases withLock whatever the work does', async () => {
    const store = await backend.open();
    await expect(
      store.locks.withLock('control-plane', ops, {}, async (handle) => {
        await handle.assertHeld();
        throw new Error('apply failed');
      }),
    ).rejects.toThrow('apply failed');
    expect(await store.locks.holder('control-plane')).toBeUndefined();
    expect(await store.locks.withLock('control-plane', ops, {}, async () => 42)).toBe(42);
  });

  it('refreshes the heartbeat while held', async () => {
    const clock = fakeClock();
    const store = await backend.open({ clock, locks: { heartbeatIntervalMs: 10 } });
    const handle = await store.locks.acquire('control-plane', ops);
    clock.advance(7000);
    await new Promise((resolve) => setTimeout(resolve, 80));
    expect((await store.locks.holder('control-plane'))?.heartbeatAt).toBe(clock.now());
    await handle.release();
  });

  it('releases what it holds on close', async () => {
    const folder = tempFolder();
    const store = await backend.open({ folder });
    await store.locks.acquire('control-plane', ops);
    await store.close();
    const other = await backend.open({ folder });
    expect(await other.locks.holder('control-plane')).toBeUndefined();
  });
});

describe('locks of SQLite holders on other hosts (heartbeats)', () => {
  it('takes over a holder on another host only after its heartbeat is older than the bound', async () => {
    const folder = tempFolder();
    const clockA = fakeClock();
    const clockB = fakeClock();
    const hostA = await openTestState({ folder, clock: clockA, locks: { hostname: 'host-a' } });
    const hostB = await openTestState({ folder, clock: clockB, locks: { staleAfterMs: 60_000 } });
    const held = await hostA.locks.acquire('control-plane', ops);

    clockB.advance(60_000);
    const error = await timeout(hostB.locks.acquire('control-plane', analyst));
    expect(error.holder).toMatchObject({ hostname: 'host-a', identity: 'ops@example.com' });
    expect(error.hint).toContain('after 60s without a heartbeat');

    clockB.advance(1);
    const taken = await hostB.locks.acquire('control-plane', analyst);
    expect(taken.tookOver).toEqual({
      holder: held.holder,
      reason: `no heartbeat from pid ${process.pid} on host-a for 60s`,
    });
    await expect(held.assertHeld()).rejects.toMatchObject({ code: 'lock-lost' });
    // The old handle's release must not free the new holder's lock.
    await held.release();
    expect((await hostB.locks.holder('control-plane'))?.identity).toBe('analyst@example.com');
  });
});

describeStateStoreContract('locks across processes', (backend) => {
  it('makes a second process wait for the first, then take the lock', async () => {
    const folder = tempFolder();
    const url = backend.url(folder);
    const first = startStateChild({ op: 'hold', url, lock: 'control-plane', ...ops, holdMs: 400 });
    await first.next('acquired');
    const second = startStateChild({
      op: 'hold',
      url,
      lock: 'control-plane',
      ...analyst,
      holdMs: 0,
      timeoutMs: 10_000,
    });
    const [released, acquired] = await Promise.all([first.next('releasing'), second.next('acquired')]);
    expect(acquired.at as number).toBeGreaterThanOrEqual(released.at as number);
    expect((await first.exited).code).toBe(0);
    expect((await second.exited).code).toBe(0);
  });

  it('times out naming the other process, and gets the lock once it is released', async () => {
    const folder = tempFolder();
    const holder = startStateChild({
      op: 'hold',
      url: backend.url(folder),
      lock: 'control-plane',
      ...ops,
    });
    await holder.next('acquired');
    const store = await backend.open({ folder });
    const error = await timeout(store.locks.acquire('control-plane', analyst, { timeoutMs: 300 }));
    expect(error.message).toMatch(
      new RegExp(
        `^the control-plane lock is held by ops@example\\.com running \`apply\` \\(pid ${holder.pid} on ${hostname()}\\) since \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ; waited \\d+(\\.\\d)?s$`,
      ),
    );
    expect(error.waitedMs).toBeGreaterThanOrEqual(300);
    holder.process.stdin?.end();
    const handle = await store.locks.acquire('control-plane', analyst, { timeoutMs: 10_000 });
    expect(handle.tookOver).toBeUndefined();
    expect((await holder.exited).code).toBe(0);
  });

  it('releases a held lock when its process exits without releasing', async () => {
    const folder = tempFolder();
    const child = startStateChild({
      op: 'hold-and-exit',
      url: backend.url(folder),
      lock: 'control-plane',
      ...ops,
    });
    expect((await child.exited).code).toBe(0);
    const store = await backend.open({ folder });
    expect(await store.locks.holder('control-plane')).toBeUndefined();
  });
});

describe('SQLite locks across processes', () => {
  it('takes over the lock of a holder killed with SIGKILL', async () => {
    const folder = tempFolder();
    const holder = startStateChild({
      op: 'hold',
      url: `sqlite:${join(folder, 'state.db')}`,
      lock: 'destination:vip',
      ...analyst,
    });
    await holder.next('acquired');
    holder.process.kill('SIGKILL');
    expect((await holder.exited).signal).toBe('SIGKILL');
    const store = await openTestState({ folder });
    expect((await store.locks.holder('destination:vip'))?.pid).toBe(holder.pid);
    const handle = await store.locks.acquire('destination:vip', ops);
    expect(handle.tookOver?.holder).toMatchObject({ pid: holder.pid, identity: 'analyst@example.com' });
    expect(handle.tookOver?.reason).toBe(`process ${holder.pid} on ${hostname()} no longer exists`);
    expect((await store.locks.holder('destination:vip'))?.pid).toBe(process.pid);
  });
});
