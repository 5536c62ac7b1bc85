import type { RemovalGuardCheck } from './removal-guard';

/**
 * What a run does to the list, decided before anything is sent: the `plan` of every run record, and
 * what `--dry-run` prints.
 */
export type DataPlan = {
  /** Distinct contacts selected (after dedupe by email): what the list should hold. */
  readonly contacts: number;
  /** Not in the last snapshot: imported as new. */
  readonly adds: number;
  /** In the snapshot with other fields (names): imported again. */
  readonly updates: number;
  /** In the snapshot with the same fields: not sent (sent anyway with `full`). */
  readonly unchanged: number;
  /** Snapshot members no longer selected, removed when the destination's removal is remove-from-list. */
  readonly removals: number;
  /** Snapshot members no longer selected that stay on the list (removal: keep). */
  readonly kept: number;
  readonly full: boolean;
  /** Contacts sent: adds + updates, or every contact with `full`. */
  readonly toImport: number;
  /** `POST /activities/contacts_json_import` calls (batches of at most 40,000 and under 4 MB). */
  readonly importCalls: number;
  /** `POST /activities/remove_list_memberships` calls (at most 500 contact IDs each), at most. */
  readonly removalCalls: number;
  /** Reads to map removed emails to contact IDs (export or paging), estimated. */
  readonly lookupCalls: number;
  /** Every request the run should make, polling included (estimated: see `estimateRunRequests`). */
  readonly estimatedRequests: number;
  /** The connection's limit the ETA assumes. */
  readonly requestsPerSecond: number;
  /** estimatedRequests at requestsPerSecond: the least time the rate limit allows. */
  readonly etaSeconds: number;
  /** Null when nothing is to be removed or removal is keep. */
  readonly removalGuard: RemovalGuardCheck | null;
  /** Set when the plan is what is left of an unfinished run (a dry run before a resume). */
  readonly resumesRun: number | null;
  /**
   * The mapped fields that changed since the last successful run: `added` ones make every contact
   * an update once (the fingerprint covers the mapping), `removed` ones stop being sent (their
   * values stay in Constant Contact). Absent or null when the mapping did not change, or there is no
   * earlier run to compare with.
   */
  readonly fieldChanges?: FieldChanges | null;
};

/** Mapped fields (JSON import names) added to and removed from a destination's mapping. */
export interface FieldChanges {
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/**
 * The change from the fields the last successful run sent to those sent now, or null when there is
 * none, or no earlier record says what it sent.
 */
export function fieldChanges(
  before: readonly string[] | undefined,
  now: readonly string[],
): FieldChanges | null {
  if (before === undefined) return null;
  const added = now.filter((field) => !before.includes(field));
  const removed = before.filter((field) => !now.includes(field));
  return added.length === 0 && removed.length === 0 ? null : { added, removed };
}

/** A list this large is read with one export activity rather than 500 members per request. */
export const exportLookupThreshold = 2_500;

/**
 * The requests a run makes besides its writes, for the ETA: one read of the list, a polling round per
 * write (activities usually finish within a round or two of the rate-limited submits), and the
 * removal lookup (about 4 requests for an export, or one per 500 members when paging).
 */
export function estimateRunRequests(work: {
  readonly importCalls: number;
  readonly removalCalls: number;
  readonly lookupCalls: number;
}): number {
  return 1 + 2 * work.importCalls + 2 * work.removalCalls + work.lookupCalls;
}

/** Requests to map a list of `members` to contact IDs: an export (about 4) or paging. */
export function estimateLookupCalls(members: number): number {
  return members > exportLookupThreshold ? 4 : Math.max(1, Math.ceil(members / 500));
}

/**
 * A plan that sends nothing: every count 0, `requests` requests (the preflight, when it is a run's
 * whole work) at `requestsPerSecond`. Callers spread the counts they know over it.
 */
export function emptyDataPlan(options: {
  readonly full: boolean;
  readonly requestsPerSecond: number;
  readonly requests: number;
}): DataPlan {
  return {
    contacts: 0,
    adds: 0,
    updates: 0,
    unchanged: 0,
    removals: 0,
    kept: 0,
    full: options.full,
    toImport: 0,
    importCalls: 0,
    removalCalls: 0,
    lookupCalls: 0,
    estimatedRequests: options.requests,
    requestsPerSecond: options.requestsPerSecond,
    etaSeconds: Math.ceil(options.requests / options.requestsPerSecond),
    removalGuard: null,
    resumesRun: null,
  };
}
