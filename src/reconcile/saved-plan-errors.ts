import { ExportctlError } from '../errors';

/**
 * Why `exportctl apply PLANFILE` refuses a saved plan; docs/troubleshooting.md explains each. Tests
 * and scripts match on these codes, never on message text.
 */
export const savedPlanErrorCodes = {
  'plan-file-invalid':
    'the file is not a saved plan this exportctl can apply: unreadable, damaged, or made by another version',
  'plan-stale':
    'the state changed since the plan was made (its serial moved on), so the plan may no longer be what applying it does',
  'plan-other-state': 'the plan was made against another state than the one given (its lineage differs)',
  'plan-secrets-changed':
    'a secret reference resolves to another value than when the plan was made (compared by fingerprint)',
} as const;

export type SavedPlanErrorCode = keyof typeof savedPlanErrorCodes;

/** A saved plan that cannot be applied as it was reviewed; `code` is one of {@link savedPlanErrorCodes}. */
export class SavedPlanError extends ExportctlError<SavedPlanErrorCode> {}
