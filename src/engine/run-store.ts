import type { ActivityCounters } from '../constant-contact';
import type { SnapshotBucketChanges } from './snapshot-buckets';

/**
 * The run engine's durable state, as a port the engine owns: each destination's confirmed snapshot
 * and list baseline, the checkpoint of its one unfinished run with the contacts it staged (only the
 * new and changed ones: the engine compares as it reads), the import and removal batches it
 * planned, the activities runs claimed, and the mark of the last successful run.
 *
 * Every method is async so that a networked backend can follow; an implementation lives in a folder
 * of its own (`src/engine/sqlite/`) and is picked by the wiring (`runEngineStateFor`). The engine
 * never asks which one it has. `test/integration/engine/run-store-contract.test.ts` states the
 * contract every implementation passes.
 *
 * Writes that belong to a run (its phase, staged contacts, import and removal batches) are refused with `destination-replaced` (a RunEngineError) when the run's checkpoint
 * no longer exists (apply deleted or replaced the destination meanwhile), and then change nothing.
 * A confirmed batch is part of the snapshot from the transaction that marks it: its contacts are
 * folded into the destination's snapshot rows by the time the run's checkpoint is deleted, when the
 * backend finds it cheaper (SQLite: at the end, in one pass; PostgreSQL: batch by batch, behind the
 * run, while it waits on the rate limit). Either way `snapshots` reads the same.
 */
export interface RunStore {
  readonly checkpoints: CheckpointStore;
  readonly listBaselines: ListBaselineStore;
  readonly snapshots: SnapshotStore;
  readonly imports: ImportBatchStore;
  readonly removals: RemovalBatchStore;
  readonly claims: ActivityClaimStore;
  readonly unchangedMarks: UnchangedMarkStore;
  readonly rowIssues: RowIssueStore;
  /** Gives back the space a finished run used (best effort; never throws). */
  compact(): Promise<void>;
}

/**
 * How long a claimed activity ID is remembered: Constant Contact lists activities of the last 10
 * days (API-NOTES, Activities), so an older one can never be offered for adoption again.
 */
export const claimRetentionMs = 30 * 86_400_000;

/**
 * Where an unfinished run is. From `importing` on it can be resumed: its staging is final (read,
 * deduped, past the contact limit and the removal guard) and its removals are planned; its import
 * batches are planned from the staged contacts in `seq` order while the first ones are sent, so a
 * resume first plans the staged contacts no batch holds yet (`ImportBatchStore.unplanned`).
 */
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
  /**
   * Ends the run's checkpoint: the contacts of its confirmed import batches enter the destination's
   * snapshot (at once: all or none), then the checkpoint and everything planned under it (its
   * staged contacts, batches and removals) are dropped. An implementation may drop them in
   * transactions of their own after the snapshot took the contacts: interrupted there, the
   * checkpoint is still there, and deleting it again ends it (the contacts enter again, unchanged).
   * The engine deletes only checkpoints of runs that ended (or never sent), so none is resumed.
   */
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

/**
 * A contact's 64-bit fingerprint as two unsigned 32-bit halves, high first (`fingerprintHalves`):
 * plain numbers, so a million of them cross the port without a BigInt each. [0, 0]: unconfirmed.
 */
export type FingerprintHalves = readonly [high: number, low: number];

/** A snapshot member: its email key and its fingerprint's halves. */
export type SnapshotMember = readonly [emailKey: string, high: number, low: number];

/**
 * A page of snapshot members as a store packs them: member `index`'s email key is the UTF-8 bytes
 * `bytes[keyStart(index), keyEnd(index))`, its fingerprint's halves `hi(index)` and `lo(index)`.
 */
export interface PackedSnapshotMembers {
  readonly count: number;
  readonly bytes: Buffer;
  keyStart(index: number): number;
  keyEnd(index: number): number;
  hi(index: number): number;
  lo(index: number): number;
}

export interface SnapshotStore {
  /** Contacts in the destination's confirmed snapshot (an unfinished run's confirmed batches included). */
  size(destination: string): Promise<number>;
  /**
   * Every member of the destination's snapshot as its last checkpoint left it (each email once, in
   * an order of the store's), a page at a time: what a fresh run compares its contacts with. Other
   * calls may run between pages.
   */
  members(destination: string): AsyncGenerator<readonly SnapshotMember[]>;
  /**
   * `members`, as the store keeps them packed, when it does (SQLite): no string is made of an email
   * the run only compares. Optional: the engine reads `members` from a store without it.
   */
  packedMembers?(destination: string): AsyncGenerator<PackedSnapshotMembers>;
  /**
   * Holds the snapshot against the list's members (`emailKeys`, lowercased): snapshot members the
   * list lacks leave the snapshot (the run's diff sends them again); the list's members the snapshot
   * lacks are counted (`notExportctls`). One transaction.
   */
  reconcileWithList(
    destination: string,
    emailKeys: readonly string[],
  ): Promise<{ readonly missing: number; readonly notExportctls: number }>;
  /**
   * Applies `changes`, translations of members' fingerprints to the scheme this version keeps
   * (`SnapshotBucketChanges.translate`, see `ImportStaging`), in one transaction; resolves how many
   * members changed. The same contacts: the snapshot's revision moves all the same.
   */
  translate(changes: SnapshotBucketChanges): Promise<number>;
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
  /**
   * Not stored: the batch, cut while the run still read, holds a newer version of a contact that a
   * batch cut before it holds (a later profile won the dedupe after that batch was cut), so it is
   * sent only once every batch sent before it is settled (see `ImportStaging`).
   */
  readonly afterSettled?: boolean;
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
  /**
   * Stages contacts the run may send (new or changed ones, or all with `full`), each written once:
   * the import batches are ranges of their `seq`. In one transaction.
   */
  stage(runId: number, contacts: readonly StagedContact[]): Promise<void>;
  /** Drops staged contacts that lost the dedupe after they were staged. */
  unstage(runId: number, seqs: readonly number[]): Promise<void>;
  /**
   * Stores import batch `batch` (state `planned`): the staged contacts from `firstSeq` to `lastSeq`.
   * Throws when they are not `planned.contacts` (the engine and the store disagree: a bug), and
   * then stores nothing.
   */
  plan(runId: number, batch: number, planned: PlannedImportBatch): Promise<void>;
  /** The run's import batches, in order. */
  batches(runId: number): Promise<ImportBatchCheckpoint[]>;
  /**
   * The run's staged contacts that no import batch holds yet (those after the last batch's
   * `lastSeq`; all of them before the first batch), in `seq` order, a page at a time, each as its
   * `seq` and the UTF-8 bytes of its entry: what a run stopped while planning its batches still has
   * to cut. Other calls may run between pages. Added with sending while planning.
   */
  unplanned(runId: number): AsyncGenerator<readonly UnplannedContact[]>;
  /** The `import_data` bytes of a batch: its contacts' entries in `seq` order, joined by commas. */
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
   * The batch's activity completed: it is marked confirmed (its contacts are in the snapshot from
   * now on, with the fingerprints sent).
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
  /** Records the run's removals: the snapshot members `emails` (leavers). Resolves how many. */
  plan(runId: number, emails: Iterable<string>): Promise<number>;
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

/**
 * What the destination's last successful run was planned from (its source's content, its specs,
 * the engine's version: a `mark`), with the snapshot's revision when it was set: a run whose mark
 * matches and whose snapshot has not changed since has nothing to send. Every change of a
 * destination's snapshot moves its revision to one it never had.
 */
export interface UnchangedMarkStore {
  /** `mark` is the destination's, and its snapshot has not changed since it was set. */
  matches(destination: string, mark: string): Promise<boolean>;
  /** Records `mark` with the snapshot's current revision (a run planned from it succeeded). */
  set(destination: string, mark: string): Promise<void>;
  /** Forgets it (a run works: one that does not succeed leaves none). */
  drop(destination: string): Promise<void>;
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
  /** Its place in the run's staging (increasing in read order); batches are ranges of it. */
  readonly seq: number;
  /** The lowercased email: the contact's identity on the list. */
  readonly emailKey: string;
  /** Fingerprint of the fields sent: what the snapshot keeps of it. */
  readonly fingerprint: FingerprintHalves;
  /** Its `import_data` entry (a JSON object). */
  readonly entry: string;
}

/** A staged contact no import batch holds yet: its `seq` and the UTF-8 bytes of its entry. */
export type UnplannedContact = readonly [seq: number, bytes: number];

/** One import call the planning pass cut: its contacts are the staged ones from `firstSeq` to `lastSeq`. */
export interface PlannedImportBatch {
  readonly contacts: number;
  readonly bodyBytes: number;
  readonly firstSeq: number;
  readonly lastSeq: number;
  /** See `ImportBatchCheckpoint.afterSettled`. */
  readonly afterSettled?: boolean;
}

/**
 * One per-row problem of a run as its row-issue CSV shows it (`key,field,reason,where,severity,code`):
 * every cell already text, `''` where the issue has none (a refused contact has no key nor field).
 */
export interface RowIssueLine {
  /** The profile key, when the row got far enough to have one. */
  readonly key: string;
  /** The source field (column) the issue is about. */
  readonly field: string;
  /** What is wrong and what was done about it. */
  readonly reason: string;
  /** Where: `file:line` (`formatRowLocation`), or `import batch N` for a contact Constant Contact refused. */
  readonly where: string;
  readonly severity: 'error' | 'warning';
  readonly code: string;
}

/**
 * The row issues of each run, in the order the run found them: rows not exported (errors),
 * exported with a change or under another row (warnings), contacts Constant Contact refused. Part
 * of the state, so `exportctl runs NAME RUN --row-issues` reads them from any machine that reaches it.
 *
 * Unlike a run's checkpoint they outlive the run: they are kept as long as the run history keeps the
 * run (it keeps every run) and the run's destination is applied. Deleting (or replacing) the
 * ExportDestination drops the row issues of all its runs, as it drops its snapshot
 * (`forgetDestination`; the SQLite state does it in the same transaction as the delete). No write
 * is refused for a missing checkpoint: a dry run has none and records its issues all the same.
 */
export interface RowIssueStore {
  /**
   * Appends `issues` to run `runId` of `destination`, after those it already has, in one
   * transaction (the engine calls it once per read batch, not once per row). An empty list changes
   * nothing.
   */
  append(runId: number, destination: string, issues: readonly RowIssueLine[]): Promise<void>;
  /** How many issues run `runId` has (0 for a run with none, or one the store does not know). */
  count(runId: number): Promise<number>;
  /**
   * The run's issues in the order they were appended, a page at a time (at most `pageSize`, default
   * 5,000; no empty page). Other calls, appends included, may run between pages.
   */
  read(runId: number, pageSize?: number): AsyncGenerator<readonly RowIssueLine[]>;
  /** Forgets the issues of run `runId` (none: nothing happens). */
  forget(runId: number): Promise<void>;
  /** Forgets the issues of every run of `destination`. */
  forgetDestination(destination: string): Promise<void>;
}
