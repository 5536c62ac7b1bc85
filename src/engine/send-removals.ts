import {
  type Clock,
  type ConstantContactClient,
  type MembershipReadMethod,
  maxContactIdsPerRemoval,
} from '../constant-contact';
import { plural } from '../text';
import { type PipelineOutcome, type PipelinePolling, runActivityPipeline } from './activity-pipeline';
import type { HeldLock } from './control-plane';
import { exportLookupThreshold } from './data-plan';
import type { ExportRunSession } from './export-run-session';
import { RunEngineError } from './run-engine-errors';
import type { RemovalBatchCheckpoint } from './run-store';

/** Contact IDs per `remove_list_memberships` call: Constant Contact's maximum. */
export const maxRemovalIdsPerCall = maxContactIdsPerRemoval;

export interface SendRemovalsInput {
  readonly session: ExportRunSession;
  readonly client: ConstantContactClient;
  readonly clock: Clock;
  readonly lock: HeldLock;
  readonly listId: string;
  readonly maxInFlight: number;
  readonly maxSubmissions: number;
  readonly polling: PipelinePolling;
  readonly signal: AbortSignal | undefined;
}

/**
 * The removal phase, for the removals the run planned (snapshot members no longer selected). Their
 * contact IDs are looked up in bulk by the plan (before the removal guard, which counts only those on
 * the list); a run planned without that lookup does it here, once: an export of the list when it has
 * more than 2,500 members, else paging (never a request per contact); removals not on the list leave
 * the snapshot at once. Then removes the rest, at most 500 contact IDs per call, and takes each batch
 * out of the snapshot when its activity completed. A removal is idempotent, so a batch interrupted
 * before its activity was recorded is simply sent again.
 */
export async function sendRemovals(
  input: SendRemovalsInput,
): Promise<PipelineOutcome<RemovalBatchCheckpoint>> {
  const { session, client, clock, lock } = input;
  const { runId, destination, runStore } = session;
  const checkpoint = await runStore.checkpoints.of(destination);
  if (checkpoint !== undefined && !checkpoint.removalsLookedUp) {
    const list = await client.getList(input.listId);
    const method: MembershipReadMethod =
      (list.membership_count ?? 0) > exportLookupThreshold ? 'export' : 'paging';
    const contactIds = await client.emailsToContactIds(input.listId, method);
    await lock.assertHeld();
    await runStore.removals.planBatches(runId, destination, contactIds, maxRemovalIdsPerCall);
  }
  const batches = await runStore.removals.batches(runId);
  // Seeded from the checkpoint: sends before a resume count against maxSubmissions too.
  const submissions = new Map(batches.map((batch) => [batch.batch, batch.submissions]));
  const report = async () => {
    // Leavers found not to be on the list count as neither done nor to do: nothing was removed.
    const totals = await runStore.removals.totals(runId);
    const removed = totals.removed - totals.notOnList;
    session.progress({ removals: { done: removed, total: totals.planned - totals.notOnList } });
    session.update({
      counts: { ...session.record.counts, removed },
      batches: {
        ...session.record.batches,
        removals: totals.batches,
        removalsConfirmed: totals.confirmedBatches,
      },
    });
  };
  await report();
  return runActivityPipeline({
    client,
    clock,
    queued: batches.filter((batch) => batch.state === 'planned'),
    submitted: new Map(
      batches
        .filter((batch) => batch.state === 'submitted' && batch.activityId !== undefined)
        .map((batch) => [batch.activityId as string, batch]),
    ),
    maxInFlight: input.maxInFlight,
    polling: input.polling,
    signal: input.signal,
    steps: {
      async submit(batch) {
        await lock.assertHeld();
        submissions.set(batch.batch, (submissions.get(batch.batch) ?? 0) + 1);
        const activity = await client.removeListMemberships({
          contactIds: await runStore.removals.contactIds(runId, batch.batch),
          listIds: [input.listId],
        });
        await runStore.removals.markSubmitted(runId, batch.batch, activity.activityId);
        return activity.activityId;
      },
      async settle(batch, activity) {
        if (activity.needsResubmit) {
          await runStore.removals.markPlanned(runId, batch.batch);
          if ((submissions.get(batch.batch) ?? 0) >= input.maxSubmissions) {
            throw new RunEngineError(
              'removal-not-accepted',
              `removal batch ${batch.batch} of run ${runId} (${plural(batch.contacts, 'contact')}) ended ${activity.state} ${plural(input.maxSubmissions, 'time')}`,
              {
                context: { run: runId, destination, batch: batch.batch },
                hint: 'run again later: the removals already confirmed are kept',
              },
            );
          }
          return 'resubmit';
        }
        await lock.assertHeld();
        await runStore.removals.confirm(runId, destination, batch.batch);
        await report();
        await session.save();
        return 'done';
      },
    },
  });
}
