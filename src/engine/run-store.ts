import type { ActivityCounters } from '../constant-contact';
import type { RowLocation } from '../profiles';

/**
 * The run engine's durable state, as a port the engine owns: each destination's confirmed snapshot
 * and list baseline, the checkpoint of its one unfinished run with the import and removal batches
 * it planned, the activities runs claimed, and the staging of a run's contacts while it plans.
 * Every method is async so that a networked backend can follow; an implementation lives in a folder
 * of its own (`src/engine/sqlite/`) and is picked by the wiring (`runEngineStateFor`). The engine
 * never asks which one it has. `test/integration/engine/run-store-contract.test.ts` states the
 * contract every implementation passes.
 *
 * Writes that belong to a run (everything but `checkpoints.create`/`delete` and the list
 * baselines) are refused with `destination-replaced` (a RunEngineError) when the run's checkpoint
 * no longer exists (apply deleted or replaced the destination meanwhile), and then change nothing.
 * Confirming a batch and updating the snapshot happen in one transaction.
 */
export interface RunStore {
  readonly checkpoints: CheckpointStore;
  readonly listBaselines: ListBaselineStore;
  readonly snapshots: SnapshotStore;
  readonly imports: ImportBatchStore;
  readonly removals: RemovalBatchStore;
  readonly claims: ActivityClaimStore;
  /**
   * A new, empty staging for run `runId` of `destination` (private to this process: nothing of it
   * is durable, a crash before the plan is stored loses nothing that was sent). `drop` it when done.
   */
  openStaging(runId: number, destination: string): Promise<RunStaging>;
  /** Gives back the space a finished run used (best effort; never throws). */
  compact(): Promise<void>;
}

/**
 * How long a claimed activity ID is remembered: Constant Contact lists activities of the last 10
 * days (API-NOTES, Activities), so an older one can never be offered for adoption again.
 */
export const claimRetentionMs = 30 * 86_400_000;

/** Where an unfinished run is: its work is planned from `importing` on, so it can be resumed. */
export type CheckpointPhase = 'planning' | 'importing' | 'removing';

/** The unfinished run of one destination. */
export interface Checkpoint {
  readonly runId: number;
  readonly destination: string;
  readonly listId: string;
  readonly phase: CheckpointPhase;
  /** The contact IDs of the removals have been looked up and the removal calls planned. */
  readonly removalsLookedUp: boolean;
}

export interface CheckpointStore {
  /** The destination's unfinished run, if any (one at most). */
  of(destination: string): Promise<Checkpoint | undefined>;
  /** Records that run `runId` of `destination` started planning (phase `planning`). */
  create(runId: number, destination: string, listId: string): Promise<void>;
  /** Drops the run's checkpoint and everything planned under it (its batches and removals). */
  delete(runId: number): Promise<void>;
  setPhase(runId: number, phase: CheckpointPhase): Promise<void>;
  /**
   * A run that fails after sending: the contacts of its import batches that were sent but not
   * confirmed may be on the list (an activity exists, its end is unknown). They enter the snapshot
   * unconfirmed (a fingerprint no contact has), so the next run sends those still selected again and
   * treats those no longer selected as leavers. Resolves how many. Not refused without a checkpoint.
   */
  keepUnconfirmedSends(runId: number, destination: string): Promise<number>;
}

export interface ListBaselineStore {
  /** The list's membership count when the destination's last run succeeded, if known. */
  get(destination: string, listId: string): Promise<number | undefined>;
  /** Records what the list held at the end of a run that succeeded. */
  set(destination: string, listId: string, membershipCount: number): Promise<void>;
  /** Forgets it while a run works: one that does not succeed leaves none. */
  drop(destination: string): Promise<void>;
}

export interface SnapshotStore {
  /** Contacts in the destination's last confirmed snapshot. */
  size(destination: string): Promise<number>;
  /**
   * Holds the snapshot against the list's members (`emailKeys`, lowercased): snapshot members the
   * list lacks leave the snapshot (the run's diff sends them again); the list's members the snapshot
   * lacks are counted (`notExportctls`). One transaction.
   */
  reconcileWithList(
    destination: string,
    emailKeys: readonly string[],
  ): Promise<{ readonly missing: number; readonly notExportctls: number }>;
}

export type ImportBatchState = 'planned' | 'sending' | 'submitted' | 'confirmed';

/** One import call of a run, as its checkpoint holds it (its contacts apart: `data`). */
export interface ImportBatchCheckpoint {
  readonly batch: number;
  readonly contacts: number;
  readonly bodyBytes: number;
  readonly state: ImportBatchState;
  /** How many times it was (or may have been) sent. */
  readonly submissions: number;
  /** When it was last marked `sending` (epoch ms): its activity, if any, was created after this. */
  readonly sentAt: number | undefined;
  readonly activityId: string | undefined;
  /** Its activity was found among the recent ones after the answer was lost, not answered. */
  readonly adopted: boolean;
}

/** Sums over a run's import batches. */
export interface ImportTotals {
  readonly batches: number;
  readonly confirmedBatches: number;
  readonly plannedContacts: number;
  /** Contacts of confirmed batches. */
  readonly imported: number;
  /** Sum of `cannot_add_to_list_count`: unsubscribed contacts Constant Contact kept off the list. */
  readonly unsubscribed: number;
  /** Sum of `error_count`: contacts Constant Contact refused. */
  readonly rejected: number;
}

export interface ImportBatchStore {
  /** The run's import batches, in order. */
  batches(runId: number): Promise<ImportBatchCheckpoint[]>;
  /** The `import_data` bytes of a batch not confirmed yet (empty once confirmed). */
  data(runId: number, batch: number): Promise<Buffer>;
  /** Before the request leaves: from now on its activity may exist. Counts a submission. */
  markSending(runId: number, batch: number, sentAt: number): Promise<void>;
  /**
   * The request created `activityId` (answered, or `adopted`: found after the answer was lost). The
   * activity is claimed for good in the same transaction (see `claims`).
   */
  markSubmitted(runId: number, batch: number, activityId: string, how: { adopted: boolean }): Promise<void>;
  /** Back to be sent again: its request made no activity, or the activity failed. */
  markPlanned(runId: number, batch: number): Promise<void>;
  /**
   * The batch's activity completed: its contacts enter the destination's snapshot with the
   * fingerprints sent and the batch is confirmed, in one transaction. Its body is not kept.
   */
  confirm(
    runId: number,
    destination: string,
    batch: number,
    counters: ActivityCounters,
    errors: readonly string[],
  ): Promise<void>;
  totals(runId: number): Promise<ImportTotals>;
}

export type RemovalBatchState = 'planned' | 'submitted' | 'confirmed';

export interface RemovalBatchCheckpoint {
  readonly batch: number;
  readonly contacts: number;
  readonly state: RemovalBatchState;
  readonly activityId: string | undefined;
  /** Times it was sent, over every process that worked on the run. */
  readonly submissions: number;
}

export interface RemovalTotals {
  readonly planned: number;
  readonly batches: number;
  readonly confirmedBatches: number;
  /** Removals confirmed: removed by an activity, or found not to be on the list. */
  readonly removed: number;
  /** Of those, found not to be on the list (nothing to send). */
  readonly notOnList: number;
}

export interface RemovalBatchStore {
  /** Emails (lowercased) of the run's removals, in order. */
  emails(runId: number): Promise<string[]>;
  /**
   * Stores the lookup's result in one transaction: removals with a contact ID in `contactIds` are
   * cut into calls of `perCall`; those without one are not on the list and leave the snapshot now.
   * The checkpoint moves to `removing`, removals looked up.
   */
  planBatches(
    runId: number,
    destination: string,
    contactIds: ReadonlyMap<string, string>,
    perCall: number,
  ): Promise<void>;
  batches(runId: number): Promise<RemovalBatchCheckpoint[]>;
  contactIds(runId: number, batch: number): Promise<string[]>;
  /** Sent: counts a submission and claims the activity. */
  markSubmitted(runId: number, batch: number, activityId: string): Promise<void>;
  markPlanned(runId: number, batch: number): Promise<void>;
  /** The removal activity completed: its contacts leave the snapshot, in the same transaction. */
  confirm(runId: number, destination: string, batch: number): Promise<void>;
  totals(runId: number): Promise<RemovalTotals>;
}

export interface ActivityClaimStore {
  /**
   * Every activity ID a run of this state was answered with or adopted, finished runs included
   * (kept `claimRetentionMs`): never one to adopt for another batch.
   */
  known(): Promise<Set<string>>;
}

/** One contact as the engine stages it: what will be sent, computed once as it is read. */
export interface StagedContact {
  /** The lowercased email: the contact's identity on the list. */
  readonly emailKey: string;
  /** The profile's key: the smallest (by code point) of an email's profiles wins the dedupe. */
  readonly key: string;
  /** Its `import_data` entry (a JSON object). */
  readonly entry: string;
  /** Fingerprint of the fields sent: equal to the snapshot's means unchanged. */
  readonly fingerprint: string;
  /** The profile's line, rowid or row number in the source (its `where`). */
  readonly position: number;
}

/**
 * One staged contact as the planning pass reads it, in (email key, key) order: `[emailKey, key,
 * entryBytes, snapshot, position]`, where `entryBytes` is the UTF-8 size of its import entry and
 * `snapshot` says what the destination's snapshot holds for its email: 0 none, 1 the same
 * fingerprint, 2 another one. Plain arrays of small values: a million pass through the pass.
 */
export type StagedContactRow = readonly [
  emailKey: string,
  key: string,
  entryBytes: number,
  snapshot: 0 | 1 | 2,
  position: number,
];

/** One import call the planning pass cut: how many contacts, how big, which range of emails. */
export interface PlannedImportBatch {
  readonly contacts: number;
  readonly bodyBytes: number;
  readonly firstEmail: string;
  readonly lastEmail: string;
  /**
   * The batch's contacts as `[emailKey, key]`, when they are a small part of their range of emails
   * (a small delta): then the store may pick them by key rather than filter the whole range.
   */
  readonly keys?: readonly (readonly [string, string])[];
}

/**
 * A run's contacts while it plans. Contacts are added in source order, then `seal`ed; from then on
 * the staging answers in (email key, key) order, the order every reader relies on: the first row
 * of an email is the dedupe winner (the smallest key by code point), and the planning pass drops the
 * others (`dropLoser`) before it stores the batches that cover them.
 */
export interface RunStaging {
  /** Contacts added so far (before dedupe). */
  readonly size: number;
  /** Adds contacts in source order; `where` of the first tells how to locate rows (`rowLocation`). */
  add(contacts: readonly StagedContact[], where: RowLocation | undefined): Promise<void>;
  /** Ends the adding: the contacts are ordered by email key, then key. */
  seal(): Promise<void>;
  /** Distinct email keys: the contacts the list should hold. */
  distinctEmails(): Promise<number>;
  /** Snapshot members of the destination whose email is not staged: they left the selection. */
  leavers(): Promise<number>;
  /** How many leavers are among `onList` (the list's members by lowercased email). */
  leaversOnList(onList: ReadonlyMap<string, unknown>): Promise<number>;
  /** Every staged contact in order, a page at a time, with what the snapshot holds for its email. */
  pages(): AsyncGenerator<StagedContactRow[]>;
  /** Drops a row that lost the dedupe; resolves its email as it would have been sent. */
  dropLoser(row: StagedContactRow): Promise<string>;
  /** Where a staged row's profile was in the source. */
  rowLocation(row: StagedContactRow): RowLocation;
  /**
   * Stores import batch `batch` of the run (state `planned`) with the exact contacts it carries,
   * from the staging: the contacts from `firstEmail` to `lastEmail` to be sent (changed against the
   * snapshot, or all with `full`), or those of `keys`. Call it once the range's losers are dropped.
   * Throws when they are not `planned.contacts` (the pass and the store disagree: a bug), and then
   * stores nothing.
   */
  storeImportBatch(batch: number, planned: PlannedImportBatch, full: boolean): Promise<void>;
  /** Records the run's removals: every leaver. Resolves how many. */
  storeRemovals(): Promise<number>;
  /** Frees the staging; safe to call twice. */
  drop(): Promise<void>;
}
