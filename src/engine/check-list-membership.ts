import type { ConstantContactClient } from '../constant-contact';
import type { RunStore } from './run-store';

/** What a run found when it held the list against what exportctl put there (the run record keeps it). */
export interface ListCheck {
  /** The list's membership_count when the last run succeeded; null when unknown (none succeeded since). */
  readonly expected: number | null;
  /** Its membership_count at this run's start. */
  readonly found: number;
  /** The list's members were exported and compared with the snapshot. */
  readonly exported: boolean;
  /** Contacts exportctl had put on the list that it no longer holds: this run sends them again. */
  readonly missing: number;
  /** Members exportctl did not put there (added by hand, or by another tool): left alone. */
  readonly notExportctls: number;
}

/**
 * Holds the list against the snapshot before a run plans, so that a list trimmed or emptied outside
 * exportctl (by a person in Constant Contact, by another tool) ends equal to the selection again.
 *
 * The count the preflight already read is compared with the one recorded when the last run
 * succeeded: equal, nothing more is asked. Otherwise (or when no run succeeded since, and the
 * snapshot is not empty) one bulk export of the list (a few requests, whatever its size; never a
 * request per contact) tells exactly which snapshot members the list lacks: they leave the snapshot,
 * so this run's diff sends them again without `--full` and without resending what is there; members
 * exportctl did not put there are counted and left alone (removals only ever take snapshot members).
 * Unsubscribed contacts never get on a list, so a check that exports sends them again too: harmless,
 * they are counted as unsubscribed again.
 */
export async function checkListMembership(input: {
  readonly client: Pick<ConstantContactClient, 'exportListMembers'>;
  readonly runStore: Pick<RunStore, 'listBaselines' | 'snapshots'>;
  readonly destination: string;
  readonly listId: string;
  readonly found: number;
}): Promise<ListCheck> {
  const { runStore, destination, listId, found } = input;
  const expected = (await runStore.listBaselines.get(destination, listId)) ?? null;
  const unknown = expected === null && (await runStore.snapshots.size(destination)) > 0;
  if (!unknown && (expected === null || expected === found))
    return { expected, found, exported: false, missing: 0, notExportctls: 0 };
  const members = await input.client.exportListMembers(listId);
  const { missing, notExportctls } = await runStore.snapshots.reconcileWithList(
    destination,
    members.map((member) => member.email.toLowerCase()),
  );
  return { expected, found, exported: true, missing, notExportctls };
}
