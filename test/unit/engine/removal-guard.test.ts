import { describe, expect, it } from 'vitest';
import { checkRemovalGuard } from '../../../src/engine';

describe('checkRemovalGuard', () => {
  it.each([
    // removals, list members, snapshot, max %, allowed, basis, percent
    [0, 0, 0, 10, true, 'list', null],
    [10, 100, 500, 10, true, 'list', 10],
    [11, 100, 500, 10, false, 'list', 11],
    [11, undefined, 500, 10, true, 'snapshot', 2.2],
    [60, undefined, 500, 10, false, 'snapshot', 12],
    [1, 0, 5, 10, false, 'list', null],
    [5, 0, 5, 100, true, 'list', null],
    [1, 1000, 1000, 0, false, 'list', 0.1],
    [0, 1000, 1000, 0, true, 'list', 0],
  ] as const)(
    '%d removals of %s list members (snapshot %d) at %d%%: allowed %s',
    (removals, listMembers, snapshotSize, max, allowed, basis, percent) => {
      const check = checkRemovalGuard({ removals, listMembers, snapshotSize, maxRemovalPercent: max });
      expect(check).toEqual({
        basis,
        base: listMembers ?? snapshotSize,
        removals,
        percent: percent === null ? null : expect.closeTo(percent, 10),
        maxRemovalPercent: max,
        allowed,
      });
    },
  );
});
