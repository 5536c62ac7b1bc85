import { dirname } from 'node:path';
import type { ExportDestinationSpec, ProfileSourceSpec } from '../config';
import { type ImportBatchLimits, importEntryJson } from '../constant-contact';
import { assertSourceIsText, contactFingerprint, type ExportContact, readContacts } from '../profiles';
import { type DataPlan, estimateLookupCalls, estimateRunRequests } from './data-plan';
import type { ExportRunSession } from './export-run-session';
import { planImports } from './plan-imports';
import { checkRemovalGuard } from './removal-guard';
import { ContactLimitError, RemovalGuardError } from './run-engine-errors';
import type { PlannedImportBatch, StagedContact } from './run-store';
import { maxRemovalIdsPerCall } from './send-removals';

export interface ReadAndPlanInput {
  readonly session: ExportRunSession;
  readonly source: ProfileSourceSpec;
  readonly spec: ExportDestinationSpec;
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
}

/**
 * The read and plan phases: streams the selected contacts into the run's staging, sorts them, fails
 * past the contact limit, counts the removals and applies the removal guard, then plans the import
 * batches (a real run stores them and its removals in its checkpoint, phase `importing`). Nothing is
 * sent. Throws ContactLimitError, RemovalGuardError, or the signal's reason when it aborts.
 */
export async function readAndPlan(input: ReadAndPlanInput): Promise<DataPlan> {
  const { session, spec, signal } = input;
  const { runId, destination } = session;
  const runStore = session.runStore;
  const staging = await runStore.openStaging(runId, destination);
  try {
    session.enter('read');
    const baseDir = dirname(
      input.source.type === 'sqlite' ? (input.source.database ?? '.') : input.source.profiles,
    );
    // A gzip file or a workbook saved as profiles.csv is said to be one, not read as a bad header.
    await assertSourceIsText(input.source, baseDir);
    const read = readContacts({
      source: input.source,
      baseDir,
      segments: spec.segments,
      dataMatching: spec.dataMatching,
      onIssue: session.issue,
    });
    for await (const contacts of read.batches()) {
      signal?.throwIfAborted();
      await staging.add(contacts.map(stagedContact), contacts[0]?.where);
      session.progress({ profileRows: read.summary.profileRows, staged: staging.size });
    }
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
    session.progress({ profileRows: summary.profileRows, staged: staging.size }, true);

    session.enter('plan');
    await staging.seal();
    const distinct = await staging.distinctEmails();
    if (distinct > input.contactLimit) {
      // The record says what the limit counted (distinct contacts after the dedupe), as the error does.
      session.update({
        counts: { ...session.record.counts, contacts: distinct, duplicate: staging.size - distinct },
      });
      throw new ContactLimitError(destination, distinct, input.contactLimit);
    }

    const snapshotSize = await runStore.snapshots.size(destination);
    const leavers = await staging.leavers();
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
        : await staging.leaversOnList(listMembers);
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
      session.update({ plan: { ...emptyPlan(input), contacts: distinct, removals, removalGuard: guard } });
      throw new RemovalGuardError(destination, removals, guard.base, guard.basis, guard.maxRemovalPercent);
    }

    const counts = await planImports({
      staging,
      listId: spec.listId,
      full: input.full,
      batchLimits: input.importBatchLimits,
      onIssue: session.issue,
      ...(input.dryRun
        ? {}
        : {
            storeBatch: (batch: number, planned: PlannedImportBatch) =>
              staging.storeImportBatch(batch, planned, input.full),
          }),
      ...(signal ? { signal } : {}),
    });
    if (!input.dryRun && leavers > 0 && removing) {
      await staging.storeRemovals();
      // With the members read, the removal calls are cut now (the leavers not on the list leave the
      // snapshot at once); the removal phase then sends them without looking the list up again.
      if (listMembers !== undefined)
        await runStore.removals.planBatches(runId, destination, listMembers, maxRemovalIdsPerCall);
    }

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
    if (!input.dryRun) await runStore.checkpoints.setPhase(runId, 'importing');
    session.progress(
      {
        importBatches: { done: 0, total: counts.importCalls },
        importContacts: { done: 0, total: counts.toImport },
        removals: { done: 0, total: removals },
      },
      true,
    );
    return plan;
  } finally {
    await staging.drop();
  }
}

/**
 * A contact as the staging keeps it: what will be sent (its import entry) and the fingerprint of
 * those fields, computed once as it is read.
 */
function stagedContact(contact: ExportContact): StagedContact {
  const where = contact.where;
  return {
    emailKey: contact.emailKey,
    key: contact.key,
    entry: importEntryJson({
      email: contact.email,
      first_name: contact.firstName,
      last_name: contact.lastName,
    }),
    fingerprint: contactFingerprint(contact),
    position: where.line ?? where.rowid ?? where.row ?? 0,
  };
}

function emptyPlan(input: ReadAndPlanInput): DataPlan {
  return {
    contacts: 0,
    adds: 0,
    updates: 0,
    unchanged: 0,
    removals: 0,
    kept: 0,
    full: input.full,
    toImport: 0,
    importCalls: 0,
    removalCalls: 0,
    lookupCalls: 0,
    estimatedRequests: 0,
    requestsPerSecond: input.requestsPerSecond,
    etaSeconds: 0,
    removalGuard: null,
    resumesRun: null,
  };
}
