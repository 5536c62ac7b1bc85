import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  nextPermitTime,
  type PermitRule,
  type PermitTimes,
  permitExpired,
} from '../../../src/constant-contact';

const rule: PermitRule = { requestsPerSecond: 4, windowMs: 1000, leaseMs: 30_000 };
const ended = (grantedAt: number, endedAt: number): PermitTimes => ({ grantedAt, endedAt });
const inFlight = (grantedAt: number): PermitTimes => ({ grantedAt, endedAt: undefined });

describe('nextPermitTime', () => {
  it('grants at once while fewer than the limit are recent', () => {
    const permits = [ended(0, 10), ended(1, 11), ended(2, 12)];
    expect(nextPermitTime(permits, 20, rule)).toEqual({ at: 20, heldByInFlight: false });
    expect(nextPermitTime([], 5, rule)).toEqual({ at: 5, heldByInFlight: false });
  });

  it('waits a window after the end of the permit limit places back', () => {
    const permits = [ended(0, 50), ended(1, 20), ended(2, 30), ended(3, 40)];
    // The oldest grant binds: it ended at 50, so the next may go at 1050.
    expect(nextPermitTime(permits, 60, rule)).toEqual({ at: 1050, heldByInFlight: false });
    // With five, the two oldest bind: the later of their ends counts.
    expect(nextPermitTime([...permits, ended(4, 900)], 950, rule)).toEqual({
      at: 1050,
      heldByInFlight: false,
    });
  });

  it('sorts permits by grant time, whatever order a store read them in', () => {
    const permits = [ended(3, 40), ended(0, 700), ended(2, 30), ended(1, 20)];
    expect(nextPermitTime(permits, 800, rule).at).toBe(1700);
  });

  it('says an in-flight binding permit holds it back, and assumes it ends now', () => {
    const permits = [inFlight(0), ended(1, 20), ended(2, 30), ended(3, 40)];
    expect(nextPermitTime(permits, 100, rule)).toEqual({ at: 1100, heldByInFlight: true });
    // An in-flight permit among the newest limit - 1 holds nothing back.
    const newest = [ended(0, 10), ended(1, 20), ended(2, 30), inFlight(3)];
    expect(nextPermitTime(newest, 1200, rule)).toEqual({ at: 1200, heldByInFlight: false });
  });

  it('lets a permit in flight past its lease hold back only until lease + window', () => {
    const permits = [inFlight(0), ended(29_000, 30_200), ended(29_100, 30_300), ended(29_200, 30_400)];
    expect(nextPermitTime(permits, 30_500, rule)).toEqual({ at: 31_000, heldByInFlight: false });
    expect(nextPermitTime(permits, 31_000, rule)).toEqual({ at: 31_000, heldByInFlight: false });
    const forever = { ...rule, leaseMs: Number.POSITIVE_INFINITY };
    expect(nextPermitTime(permits, 30_500, forever)).toEqual({ at: 31_500, heldByInFlight: true });
  });

  it('treats a limit below 1 as 1', () => {
    expect(nextPermitTime([ended(0, 5)], 10, { ...rule, requestsPerSecond: 0 }).at).toBe(1005);
  });

  it('never lets the server see more than the limit in any window, whenever requests arrive (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 300 })), {
          minLength: 1,
          maxLength: 40,
        }),
        (limit, steps) => {
          const local = { ...rule, requestsPerSecond: limit };
          const granted: { grantedAt: number; endedAt: number }[] = [];
          let now = 0;
          for (const [gap, duration] of steps) {
            now += gap;
            const next = nextPermitTime(granted, now, local);
            expect(next.heldByInFlight).toBe(false);
            now = next.at;
            granted.push({ grantedAt: now, endedAt: now + duration });
          }
          // The server counts a request when it arrives, at any time between its grant and its end.
          // Some choice of arrivals puts more than the limit into a window (t - w, t] exactly when
          // more intervals [grant, end] meet it; the count peaks at some grant time t.
          for (const { grantedAt: t } of granted) {
            const meeting = granted.filter((p) => p.grantedAt <= t && p.endedAt > t - local.windowMs);
            expect(meeting.length).toBeLessThanOrEqual(limit);
          }
        },
      ),
    );
  });
});

describe('permitExpired', () => {
  it('forgets a permit a window after it ended, or after its lease and a window', () => {
    expect(permitExpired(ended(0, 100), 1099, rule)).toBe(false);
    expect(permitExpired(ended(0, 100), 1100, rule)).toBe(true);
    expect(permitExpired(inFlight(0), 30_999, rule)).toBe(false);
    expect(permitExpired(inFlight(0), 31_000, rule)).toBe(true);
  });
});
