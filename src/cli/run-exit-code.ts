import type { RunStatus } from '../state';
import { ExitCode } from './exit-codes';

/** How one destination of `exportctl run` ended: its run's status, or `not-run` (it could not start). */
export type RunEnd = RunStatus | 'not-run';

/**
 * `exportctl run`'s exit code for how its destinations ended: 1 (Error) when any failed, was aborted
 * or could not run, even if others paused; else 3 (Paused) when any paused (the daily quota, or
 * SIGINT/SIGTERM: the next run resumes it); else 0. Failed comes first because a paused run needs
 * nothing but time, a failed one needs someone to look.
 */
export function runExitCode(ends: readonly RunEnd[]): ExitCode {
  if (ends.some((end) => end !== 'succeeded' && end !== 'paused')) return ExitCode.Error;
  if (ends.includes('paused')) return ExitCode.Paused;
  return ExitCode.Success;
}
