import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/cli/exit-codes';
import { type RunEnd, runExitCode } from '../../../src/cli/run-exit-code';

describe('runExitCode', () => {
  it.each<[readonly RunEnd[], number]>([
    [[], 0],
    [['succeeded'], 0],
    [['succeeded', 'succeeded'], 0],
    [['paused'], 3],
    [['succeeded', 'paused'], 3],
    [['failed'], 1],
    [['aborted'], 1],
    [['not-run'], 1],
    // Failed comes first: a paused run needs only time, a failed one needs someone.
    [['paused', 'failed'], 1],
    [['failed', 'paused', 'succeeded'], 1],
    [['paused', 'not-run'], 1],
    [['aborted', 'paused'], 1],
  ])('%j exits %d', (ends, code) => {
    expect(runExitCode(ends)).toBe(code);
  });

  it('paused is 3: neither success, failure (1) nor changes (2)', () => {
    expect(ExitCode.Paused).toBe(3);
  });
});
