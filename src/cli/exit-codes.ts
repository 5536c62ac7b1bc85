/** DESIGN.md exit codes. */
export const ExitCode = {
  /** Success; with --detailed-exitcode: success and no changes. */
  Success: 0,
  /** Validation, permission, or run failure; any error. */
  Error: 1,
  /** With --detailed-exitcode: success, and there are changes. */
  Changes: 2,
  /** `run`: a run paused (the daily quota, or a signal) and none failed; the next run resumes it. */
  Paused: 3,
} as const;

export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];
