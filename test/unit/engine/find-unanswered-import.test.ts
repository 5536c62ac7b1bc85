import { describe, expect, it } from 'vitest';
import type { ActivityReport } from '../../../src/constant-contact';
import { clockSkewToleranceMs, matchUnansweredImport } from '../../../src/engine';

const sentAt = Date.parse('2026-11-22T10:00:00.000Z');

function activity(id: string, items: number, createdAt: number | undefined): ActivityReport {
  return {
    activityId: id,
    state: 'processing',
    percentDone: 10,
    errors: [],
    counters: {
      items_total_count: items,
      items_completed_count: 0,
      person_count: 0,
      error_count: 0,
      correctable_count: 0,
      cannot_add_to_list_count: 0,
      list_count: 0,
    },
    ...(createdAt === undefined ? {} : { createdAt: new Date(createdAt).toISOString() }),
    final: false,
    needsResubmit: false,
  };
}

const unanswered = { contacts: 40_000, sentAt, knownActivityIds: new Set(['known']), now: sentAt + 30_000 };

describe('matchUnansweredImport', () => {
  it('adopts the one activity created after the request with as many items', () => {
    const found = matchUnansweredImport(
      [
        activity('other-size', 39_999, sentAt + 5),
        activity('ours', 40_000, sentAt + 20),
        activity('old', 40_000, sentAt - clockSkewToleranceMs - 1),
      ],
      unanswered,
    );
    expect(found?.activityId).toBe('ours');
  });

  it('never adopts an activity a checkpoint already claims', () => {
    expect(matchUnansweredImport([activity('known', 40_000, sentAt + 20)], unanswered)).toBeUndefined();
  });

  it('finds nothing when no activity fits: the request made none', () => {
    expect(
      matchUnansweredImport(
        [activity('later', 40_000, unanswered.now + clockSkewToleranceMs + 1)],
        unanswered,
      ),
    ).toBeUndefined();
    expect(matchUnansweredImport([activity('undated', 40_000, undefined)], unanswered)).toBeUndefined();
    expect(matchUnansweredImport([], unanswered)).toBeUndefined();
  });

  it('adopts none of two that fit: sending again is the safe choice', () => {
    expect(
      matchUnansweredImport(
        [activity('a', 40_000, sentAt + 1), activity('b', 40_000, sentAt + 2)],
        unanswered,
      ),
    ).toBeUndefined();
  });

  it('tolerates a Constant Contact clock somewhat behind ours', () => {
    const found = matchUnansweredImport(
      [activity('skewed', 40_000, sentAt - clockSkewToleranceMs + 1_000)],
      unanswered,
    );
    expect(found?.activityId).toBe('skewed');
  });
});
