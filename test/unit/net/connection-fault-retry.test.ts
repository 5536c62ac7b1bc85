import { describe, expect, it } from 'vitest';
import {
  connectionFaultDelay,
  connectionFaultKind,
  retryConnectionFaults,
  throttledNotices,
} from '../../../src/net/connection-fault-retry';

const fault = (code: string) => Object.assign(new Error(`fault ${code}`), { code });

describe('connectionFaultKind', () => {
  it('tells faults that ran nothing from drops whose outcome is unknown, and ignores SQL errors', () => {
    expect(
      ['57P01', '57P02', '57P03', '08001', 'ECONNREFUSED'].map((c) => connectionFaultKind(fault(c))),
    ).toEqual(Array(5).fill('not-run'));
    expect(['ECONNRESET', 'EPIPE', '08006'].map((c) => connectionFaultKind(fault(c)))).toEqual(
      Array(3).fill('unknown'),
    );
    expect(connectionFaultKind(new Error('Connection terminated unexpectedly'))).toBe('unknown');
    expect(
      connectionFaultKind(new Error('Client has encountered a connection error and is not queryable')),
    ).toBe('not-run');
    // A unique violation, a bad password, a missing database: a retry would not change them.
    for (const code of ['23505', '28P01', '3D000', '08P01'])
      expect(connectionFaultKind(fault(code))).toBeUndefined();
    expect(connectionFaultKind(new Error('syntax error'))).toBeUndefined();
  });
});

describe('connectionFaultDelay', () => {
  it('doubles from 250 ms to a 5 s cap, jittered in its upper half, and stops at the 60 s bound', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((attempt) => connectionFaultDelay(attempt, 0, 0.999999))).toEqual([
      250, 500, 1000, 2000, 4000, 5000, 5000,
    ]);
    expect(connectionFaultDelay(1, 0, 0)).toBe(125);
    expect(connectionFaultDelay(3, 59_700, 0.999999)).toBe(300);
    expect(connectionFaultDelay(3, 60_000, 0.5)).toBe(0);
  });
});

describe('retryConnectionFaults', () => {
  const clockAndSleep = () => {
    let now = 0;
    const waits: number[] = [];
    return {
      now: () => now,
      sleep: async (ms: number) => {
        waits.push(ms);
        now += ms;
      },
      waits,
    };
  };

  it('runs the work again after faults that ran nothing, with backoff, until it succeeds', async () => {
    const timing = clockAndSleep();
    let calls = 0;
    const result = await retryConnectionFaults(
      async () => {
        calls += 1;
        if (calls < 4) throw fault(calls === 1 ? '57P01' : 'ECONNREFUSED');
        return 'done';
      },
      { ...timing, random: () => 0.999999 },
    );
    expect([result, calls, timing.waits]).toEqual(['done', 4, [250, 500, 1000]]);
  });

  it('gives up at the bound with the last fault and how long it tried; other errors pass at once', async () => {
    const timing = clockAndSleep();
    const gaveUp = await retryConnectionFaults(
      async () => {
        throw fault('ECONNREFUSED');
      },
      { ...timing, random: () => 0.999999, policy: { boundMs: 3_000 } },
      (giveUp) => ({ ...giveUp, gaveUp: true }),
    ).catch((error: unknown) => error);
    expect(gaveUp).toMatchObject({ gaveUp: true, retriedMs: 3_000, error: { code: 'ECONNREFUSED' } });
    expect(timing.waits).toEqual([250, 500, 1000, 1250]);

    let calls = 0;
    const sql = await retryConnectionFaults(async () => {
      calls += 1;
      throw fault('23505');
    }, timing).catch((error: unknown) => error);
    expect([calls, (sql as { code: string }).code]).toEqual([1, '23505']);
  });

  it('runs again after a drop with no answer only when the work says it may (a read, no commit in flight)', async () => {
    for (const retryUnknown of [false, true]) {
      const timing = clockAndSleep();
      let calls = 0;
      const outcome = await retryConnectionFaults(
        async () => {
          calls += 1;
          if (calls === 1) throw fault('ECONNRESET');
          return 'again';
        },
        { ...timing, retryUnknown },
        (giveUp) => giveUp,
      ).catch((error: unknown) => error);
      expect([calls, retryUnknown ? outcome : (outcome as { retriedMs: number }).retriedMs]).toEqual(
        retryUnknown ? [2, 'again'] : [1, 0],
      );
    }
  });
});

describe('throttledNotices', () => {
  it('passes one line per interval: one per outage, not one per unit of work retrying it', () => {
    let now = 0;
    const lines: string[] = [];
    const notify = throttledNotices(
      (line) => lines.push(line),
      10_000,
      () => now,
    );
    notify('a');
    now = 5_000;
    notify('b');
    now = 10_000;
    notify('c');
    expect(lines).toEqual(['a', 'c']);
  });
});
