import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { CliContext } from '../../../src/cli/cli-context';
import { createRunProgressDisplay } from '../../../src/cli/run-progress';
import type { RunProgress } from '../../../src/engine';

/** A non-TTY display whose clock the test moves, and the lines it wrote. */
function logDisplay() {
  let now = 0;
  let written = '';
  const stderr = new PassThrough();
  stderr.setEncoding('utf8');
  stderr.on('data', (chunk: string) => {
    written += chunk;
  });
  const context = { stderr, stdout: new PassThrough(), stdin: new PassThrough(), cwd: '/', env: {} };
  const display = createRunProgressDisplay(context as unknown as CliContext, { now: () => now });
  const progress = (at: number, change: Partial<RunProgress>) => {
    now = at;
    display.onProgress({
      destination: 'vip',
      runId: 7,
      phase: 'read',
      dryRun: false,
      profileRows: 0,
      staged: 0,
      importBatches: { done: 0, total: 0 },
      importContacts: { done: 0, total: 0 },
      removals: { done: 0, total: 0 },
      elapsedMs: at,
      ...change,
    });
  };
  return { progress, lines: () => written.trim().split('\n') };
}

describe('run progress without a terminal', () => {
  it('shows the rows read so far while reading, and the rows read once planning', () => {
    const { progress, lines } = logDisplay();
    progress(0, {});
    progress(1_000, { profileRows: 40_000, staged: 39_000 }); // within 5 s of the last line: quiet
    progress(6_000, { profileRows: 250_000, staged: 241_000 });
    progress(9_000, { profileRows: 400_000, staged: 386_000 });
    progress(9_500, { phase: 'plan', profileRows: 400_000, staged: 386_000 });
    expect(lines()).toEqual([
      'vip: run 7: reading the source (0.0 s)',
      'vip: run 7: reading: 250,000 profile rows so far, 241,000 contacts (6.0 s)',
      'vip: run 7: planning: 386,000 contacts from 400,000 profile rows read (9.5 s)',
    ]);
  });

  it('says how many calls were confirmed while the source is still read', () => {
    const { progress, lines } = logDisplay();
    progress(0, { profileRows: 400_000, staged: 386_000, importBatches: { done: 3, total: 9 } });
    expect(lines()).toEqual([
      'vip: run 7: reading: 400,000 profile rows so far, 386,000 contacts; sending as it reads: 3/9 calls confirmed (0.0 s)',
    ]);
  });

  it('says one row, one contact, one call', () => {
    const { progress, lines } = logDisplay();
    progress(0, { phase: 'plan', profileRows: 1, staged: 1 });
    progress(1, {
      phase: 'import',
      importBatches: { done: 0, total: 1 },
      importContacts: { done: 0, total: 1 },
    });
    expect(lines()).toEqual([
      'vip: run 7: planning: 1 contact from 1 profile row read (0.0 s)',
      'vip: run 7: importing: 0/1 call confirmed, 0/1 contact (0.0 s)',
    ]);
  });
});
