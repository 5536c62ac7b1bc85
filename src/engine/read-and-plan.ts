import { dirname } from 'node:path';
import type { ExportDestinationSpec, ProfileSourceSpec } from '../config';
import type { ImportBatchLimits } from '../constant-contact';
import {
  assertSourceIsText,
  type CustomFieldType,
  readContacts,
  type SourceRowProvider,
  sentFieldNames,
  sourceOriginFile,
} from '../profiles';
import { ContactIndex, type EmailHash } from './contact-index';
import {
  type DataPlan,
  emptyDataPlan,
  estimateLookupCalls,
  estimateRunRequests,
  fieldChanges,
} from './data-plan';
import type { ExportRunSession } from './export-run-session';
import { HandoverQueue } from './handover-queue';
import { ImportStaging } from './plan-imports';
import { checkRemovalGuard } from './removal-guard';
import { ContactLimitError, RemovalGuardError } from './run-engine-errors';
import type { PlannedImportBatch } from './run-store';
import { maxRemovalIdsPerCall } from './send-removals';
import { SnapshotBucketChanges } from './snapshot-buckets';

export interface ReadAndPlanInput {
  readonly session: ExportRunSession;
  readonly source: ProfileSourceSpec;
  readonly spec: ExportDestinationSpec;
  /**
   * The fields the last successful run sent besides email (its record's `mappedFields`), to say in
   * the plan which fields a changed mapping adds or drops; undefined when unknown.
   */
  readonly previousMappedFields?: readonly string[] | undefined;
  /** The mapped custom fields' types in the account, as apply recorded them. */
  readonly customFieldTypes?: Readonly<Record<string, CustomFieldType>> | undefined;
  readonly full: boolean;
  /** A dry run stores nothing: no batches, no removals, no phase change. */
  readonly dryRun: boolean;
  /** The list's membership count (a real run asks it first); undefined for a dry run. */
  readonly listMembers: number | undefined;
  /**
   * Reads the list's members (lowercased email to contact ID) in bulk; a real run that would remove
   * contacts calls it once, before the removal guard. Undefined for a dry run (it asks nothing).
   */
  readonly readListMembers: (() => Promise<ReadonlyMap<string, string>>) | undefined;
  readonly requestsPerSecond: number;
  readonly contactLimit: number;
  readonly importBatchLimits: ImportBatchLimits;
  readonly signal: AbortSignal | undefined;
  /** The index's email hash; tests inject a weak one (see `ContactIndex`). */
  readonly emailHash?: EmailHash | undefined;
  /** Where the source's rows come from (see `readContacts`); default a read of its own. */
  readonly sourceRows?: SourceRowProvider | undefined;
  /**
   * Called at most once, as the first profiles are read, when the run's batches may leave while it
   * still reads: a real run whose contact limit and removal guard cannot stop it (no more selected
   * members than the limit; no removals, or no snapshot to remove from). It receives the result's
   * `batches`, which then get each batch as soon as it is cut and its contacts are written.
   */
  readonly sendWhileReading?: ((batches: AsyncIterable<PlannedImportBatch>) => void) | undefined;
}

/** What read and plan decided. */
export interface ReadAndPlanResult {
  readonly plan: DataPlan;
  /**
   * The import batches cut, in order, not stored yet: the import phase plans each
   * (`planImportBatches`) as it is about to send it, so the first ones leave while later ones are
   * still being planned (and, `sendWhileReading`, while the source is still read). It ends once the
   * last is cut; empty for a dry run.
   */
  readonly batches: AsyncIterable<PlannedImportBatch>;
}

/**
 * The read and plan phases: loads the destination's snapshot into a compact index, reads the
 * selected contacts and compares each with it as it comes (dedupe and diff), staging only those to
 * send (a real run; a dry run stores nothing), fails past the contact limit, counts the removals
 * and applies the removal guard, then cuts the import batches in memory. A real run then saves its
 * record with the plan, stores its removals, and moves its checkpoint to `importing`: from then on
 * its staging is final and the run resumable, its import batches planned as they are sent (see
 * `CheckpointPhase`). Nothing is sent here; with `sendWhileReading` the caller sends the batches
 * cut while the read goes on (the checkpoint still `planning`: a run taken up then settles what it
 * sent and reads again). Throws ContactLimitError, RemovalGuardError, or the signal's reason when
 * it aborts.
 */
export async function readAndPlan(input: ReadAndPlanInput): Promise<ReadAndPlanResult> {
  const batches = new HandoverQueue<PlannedImportBatch>();
  try {
    return { plan: await readAndPlanInto(input, batches), batches };
  } finally {
    // Ended whichever way it ends: a read or plan that fails stops the sends asking for more.
    batches.end();
  }
}

/** `readAndPlan`'s work: cut batches go to `batches`; resolves the plan. */
async function readAndPlanInto(
  input: ReadAndPlanInput,
  batches: HandoverQueue<PlannedImportBatch>,
): Promise<DataPlan> {
  const { session, spec, signal } = input;
  const { runId, destination } = session;
  const runStore = session.runStore;
  session.enter('read');
  const index = new ContactIndex({
    ...(input.emailHash ? { hash: input.emailHash } : {}),
    expected: await runStore.snapshots.size(destination),
  });
  const snapshots = runStore.snapshots;
  if (snapshots.packedMembers !== undefined) {
    for await (const page of snapshots.packedMembers(destination)) {
      for (let member = 0; member < page.count; member++)
        index.addSnapshotMemberBytes(
          page.bytes,
          page.keyStart(member),
          page.keyEnd(member),
          page.hi(member),
          page.lo(member),
        );
    }
  } else {
    for await (const page of snapshots.members(destination)) {
      for (const [emailKey, high, low] of page) index.addSnapshotMember(emailKey, [high, low]);
    }
  }
  const snapshotSize = index.entries;
  // A real run stores the translations of the snapshot's fingerprints it finds (a dry run stores
  // nothing; a full one stages every contact, whose fold puts their fingerprints anyway).
  const translations = input.dryRun || input.full ? undefined : new SnapshotBucketChanges(destination);
  const staging = new ImportStaging({
    index,
    full: input.full,
    store: input.dryRun ? undefined : { runId, imports: runStore.imports },
    onIssue: session.issue,
    translations,
  });
  const baseDir = dirname(sourceOriginFile(input.source) ?? '.');
  // A gzip file or a workbook saved as profiles.csv is said to be one, not read as a bad header.
  await assertSourceIsText(input.source, baseDir);
  const read = readContacts({
    source: input.source,
    baseDir,
    segments: spec.segments,
    dataMatching: spec.dataMatching,
    customFieldTypes: input.customFieldTypes,
    onIssue: session.issue,
    rows: input.sourceRows,
    // A run that will send while it reads has the profiles checked whole beside the read: its first
    // batch waits for that, so that a source that fails part-way sends nothing.
    checkWhole: (selectedMembers) => willSendWhileReading(selectedMembers),
  });
  const willSendWhileReading = (selectedMembers: number) =>
    !input.dryRun &&
    input.sendWhileReading !== undefined &&
    selectedMembers <= input.contactLimit &&
    (spec.removal !== 'remove-from-list' || snapshotSize === 0);
  let reserved = false;
  for await (const contacts of read.batches()) {
    signal?.throwIfAborted();
    if (!reserved) {
      // The selection is read before the first profile: at most one contact per selected member.
      // Only for a first run: with a snapshot (sized for it) most selected are its members, and
      // room for all of them again would copy every array for nothing.
      if (index.entries === 0) index.reserve(read.summary.selectedMembers);
      // Nothing read later can stop the run: its batches leave as they are cut, once the source is
      // known to read whole (none if it is not: the read then fails with the check's error).
      if (willSendWhileReading(read.summary.selectedMembers)) {
        staging.cutWhileReading(
          spec.listId,
          evenBatches(input.importBatchLimits, read.summary.selectedMembers),
          (planned) => batches.push(planned),
        );
        input.sendWhileReading?.(afterWhole(read.whole, batches));
      }
    }
    reserved = true;
    await staging.add(contacts);
    // The row issues in writes of many batches' worth: a million bad rows are not a million transactions.
    await session.writeIssues();
    session.progress({ profileRows: read.summary.profileRows, staged: staging.offered });
  }
  await staging.flush();
  // Settled by now (the read ended); rejects only as the read would have.
  await read.whole;
  // The same contacts under the fingerprints this version keeps: true whatever the run does next.
  if (translations !== undefined && translations.size > 0) await snapshots.translate(translations);
  const summary = read.summary;
  session.update({
    counts: {
      ...session.record.counts,
      read: summary.profileRows,
      membershipRows: summary.membershipRows,
      inSegments: summary.selectedMembers,
      withoutProfile: summary.membersWithoutProfile,
      invalid: summary.rowErrors,
      warnings: summary.rowWarnings,
    },
    membersPerSegment: summary.membersPerSegment,
    segmentNearMisses: summary.segmentNearMisses,
  });
  session.progress({ profileRows: summary.profileRows, staged: staging.offered }, true);

  session.enter('plan');
  const diff = index.counts();
  const distinct = diff.contacts;
  if (distinct > input.contactLimit) {
    // The record says what the limit counted (distinct contacts after the dedupe), as the error does.
    session.update({
      counts: { ...session.record.counts, contacts: distinct, duplicate: staging.duplicates },
    });
    throw new ContactLimitError(destination, distinct, input.contactLimit);
  }

  const leavers = index.leavers();
  const removing = spec.removal === 'remove-from-list';
  // The removals are the leavers the list still holds: a snapshot member Constant Contact never
  // added (unsubscribed) or that left the list there is nothing to remove, and counting it would
  // let the guard abort runs that remove little. A real run looks the list's members up now (the
  // removal phase needs their contact IDs anyway); a dry run asks nothing, so it counts them all.
  const listMembers = removing && leavers > 0 ? await input.readListMembers?.() : undefined;
  const removals = !removing
    ? 0
    : listMembers === undefined
      ? leavers
      : countLeaversOnList(index, listMembers);
  const guard =
    removals === 0
      ? null
      : checkRemovalGuard({
          removals,
          listMembers: input.listMembers,
          snapshotSize,
          maxRemovalPercent: spec.maxRemovalPercent,
        });
  if (guard && !guard.allowed) {
    session.update({
      plan: {
        ...emptyDataPlan({ full: input.full, requestsPerSecond: input.requestsPerSecond, requests: 0 }),
        contacts: distinct,
        removals,
        removalGuard: guard,
      },
    });
    throw new RemovalGuardError(destination, removals, guard.base, guard.basis, guard.maxRemovalPercent);
  }

  const cut = await staging.cut(
    spec.listId,
    input.importBatchLimits,
    input.dryRun
      ? undefined
      : async (_batch: number, planned: PlannedImportBatch) => {
          batches.push(planned);
        },
    signal,
  );
  const counts = { ...diff, ...cut, duplicates: staging.duplicates };

  const removalCalls = Math.ceil(removals / maxRemovalIdsPerCall);
  const lookupCalls = removing && leavers > 0 ? estimateLookupCalls(input.listMembers ?? snapshotSize) : 0;
  const estimatedRequests = estimateRunRequests({
    importCalls: counts.importCalls,
    removalCalls,
    lookupCalls,
  });
  const plan: DataPlan = {
    contacts: counts.contacts,
    adds: counts.adds,
    updates: counts.updates,
    unchanged: counts.unchanged,
    removals,
    kept: removing ? 0 : leavers,
    full: input.full,
    toImport: counts.toImport,
    importCalls: counts.importCalls,
    removalCalls,
    lookupCalls,
    estimatedRequests,
    requestsPerSecond: input.requestsPerSecond,
    etaSeconds: Math.ceil(estimatedRequests / input.requestsPerSecond),
    removalGuard: guard,
    resumesRun: null,
    fieldChanges: fieldChanges(input.previousMappedFields, sentFieldNames(spec.dataMatching)),
  };
  session.update({
    plan,
    counts: {
      ...session.record.counts,
      duplicate: counts.duplicates,
      contacts: counts.contacts,
      added: counts.adds,
      updated: counts.updates,
      unchanged: counts.unchanged,
    },
    batches: { ...session.record.batches, imports: counts.importCalls, removals: removalCalls },
  });
  if (!input.dryRun) {
    // The record first: a run resumable from here on (planBatches already makes it so) has its plan.
    await session.save();
    if (leavers > 0 && removing) {
      await runStore.removals.plan(runId, index.leaverEmails());
      // With the members read, the removal calls are cut now (the leavers not on the list leave the
      // snapshot at once); the removal phase then sends them without looking the list up again.
      if (listMembers !== undefined)
        await runStore.removals.planBatches(runId, destination, listMembers, maxRemovalIdsPerCall);
    }
    await runStore.checkpoints.setPhase(runId, 'importing');
  }
  session.progress(
    {
      importBatches: { done: 0, total: counts.importCalls },
      importContacts: { done: 0, total: counts.toImport },
      removals: { done: 0, total: removals },
    },
    true,
  );
  return plan;
}

/**
 * `limits` with the contacts per batch evened out over the fewest batches `most` contacts need:
 * 50,000 go as two of 25,000, not 40,000 and 10,000, so that when batches leave as they are cut the
 * first one leaves halfway through the read, not four fifths of the way. As many calls by count
 * (`most` bounds the contacts staged: each selected member is at most one).
 */
export function evenBatches(limits: ImportBatchLimits, most: number): ImportBatchLimits {
  if (most <= limits.maxContacts) return limits;
  const calls = Math.ceil(most / limits.maxContacts);
  return { ...limits, maxContacts: Math.ceil(most / calls) };
}

/** How many of the index's leavers are among `onList` (the list's members by lowercased email). */
function countLeaversOnList(index: ContactIndex, onList: ReadonlyMap<string, unknown>): number {
  let count = 0;
  for (const email of index.leaverEmails()) if (onList.has(email)) count += 1;
  return count;
}

/**
 * `batches` once `whole` resolves; none when it rejects (the read fails with its error, and is what
 * the run reports).
 */
async function* afterWhole<T>(whole: Promise<void>, batches: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    await whole;
  } catch {
    return;
  }
  yield* batches;
}
