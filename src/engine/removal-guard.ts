import type { RemovalGuardBasis } from './run-engine-errors';

/** What the removal guard compares. */
export interface RemovalGuardInput {
  /**
   * Contacts the run would remove: snapshot members no longer selected that the list still holds
   * (a dry run, which cannot ask the list, counts every snapshot member no longer selected).
   */
  readonly removals: number;
  /** The list's `membership_count` from Constant Contact; undefined when not asked (dry runs). */
  readonly listMembers: number | undefined;
  /** Contacts in the destination's last confirmed snapshot. */
  readonly snapshotSize: number;
  /** The destination's `maxRemovalPercent` (0 to 100). */
  readonly maxRemovalPercent: number;
}

/** The guard's verdict, kept in the data plan. */
export type RemovalGuardCheck = {
  /** What the share is of: the list's members when known, else the last snapshot. */
  readonly basis: RemovalGuardBasis;
  readonly base: number;
  readonly removals: number;
  /** removals / base in percent; null when base is 0 (any removal is then "all of it"). */
  readonly percent: number | null;
  readonly maxRemovalPercent: number;
  /** False: the run must abort before sending anything. */
  readonly allowed: boolean;
};

/**
 * Decides whether a run may remove `removals` contacts: at most `maxRemovalPercent` of the list's
 * members (Constant Contact's count at the start of the run), or of the last snapshot when the list
 * was not asked (a dry run asks nothing). No removal is always allowed; removing anything from an
 * empty base is not, unless maxRemovalPercent is 100.
 */
export function checkRemovalGuard(input: RemovalGuardInput): RemovalGuardCheck {
  const basis: RemovalGuardBasis = input.listMembers === undefined ? 'snapshot' : 'list';
  const base = input.listMembers ?? input.snapshotSize;
  const { removals, maxRemovalPercent } = input;
  const percent = base === 0 ? null : (removals / base) * 100;
  const allowed =
    removals === 0 || maxRemovalPercent >= 100 || (base > 0 && removals * 100 <= maxRemovalPercent * base);
  return { basis, base, removals, percent, maxRemovalPercent, allowed };
}
