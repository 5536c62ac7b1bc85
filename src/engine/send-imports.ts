import {
  type ActivityReport,
  type Clock,
  type ConstantContactClient,
  ConstantContactError,
  type ImportContact,
} from '../constant-contact';
import { type PipelineOutcome, type PipelinePolling, runActivityPipeline } from './activity-pipeline';
import { judgeAdoptedImport } from './adopted-import-evidence';
import type { HeldLock } from './control-plane';
import type { ExportRunSession } from './export-run-session';
import { findUnansweredImport } from './find-unanswered-import';
import { RunEngineError } from './run-engine-errors';
import { runImportTotals } from './run-record';
import type { ImportBatchCheckpoint } from './run-store';

export interface SendImportsInput {
  readonly session: ExportRunSession;
  readonly client: ConstantContactClient;
  readonly clock: Clock;
  readonly lock: HeldLock;
  readonly listId: string;
  readonly maxInFlight: number;
  /** Sends of one batch (first one included) before the run fails with `import-not-accepted`. */
  readonly maxSubmissions: number;
  readonly polling: PipelinePolling;
  readonly signal: AbortSignal | undefined;
  /**
   * The run's batches still being planned (`planImportBatches`): each is sent once planned, after
   * those already stored.
   */
  readonly planning?: AsyncIterable<ImportBatchCheckpoint> | undefined;
}

/**
 * The import phase: sends the run's planned batches that are not confirmed yet, then those still
 * being planned (`planning`) as each is planned, several activities in flight, and confirms each
 * batch (its contacts into the snapshot) once its activity completed.
 *
 * Every state change is checkpointed first: `sending` (with the time) before the request leaves,
 * `submitted` (with the activity ID) when it is answered. A batch found `sending` (a crash, or an
 * answer lost to a timeout, reset or 500) may have created an activity: it is looked for among the
 * recent activities and adopted if exactly one fits (its size, its time, claimed by no run of this
 * state, finished ones included), else the batch is sent again. An activity does not say which list
 * it imported into, so an adopted batch is confirmed only once an export of the list shows its
 * contacts there with the names it sent (`judgeAdoptedImport`); otherwise it is sent again. Sending
 * a batch twice is harmless (an import is an upsert); confirming one that did not land is not.
 * Failed activities are resent, up to `maxSubmissions` sends per batch.
 */
export async function sendImports(input: SendImportsInput): Promise<PipelineOutcome<ImportBatchCheckpoint>> {
  const { session, client, clock, lock } = input;
  const { runId, destination, runStore } = session;
  const { imports, claims } = runStore;
  const batches = await imports.batches(runId);
  const submissions = new Map(batches.map((batch) => [batch.batch, batch.submissions]));
  const queued: ImportBatchCheckpoint[] = [];
  const submitted = new Map<string, ImportBatchCheckpoint>();
  // Batches whose activity was found rather than answered: confirmed only on the list's evidence.
  const adopted = new Set(batches.filter((batch) => batch.adopted).map((batch) => batch.batch));
  let done = batches.filter((batch) => batch.state === 'confirmed');
  let contactsTotal = batches.reduce((sum, batch) => sum + batch.contacts, 0);
  // Batches still being planned are counted from the plan until they are all stored.
  const plan = session.record.plan;
  const report = () =>
    session.progress({
      importBatches: { done: done.length, total: Math.max(batches.length, plan?.importCalls ?? 0) },
      importContacts: {
        done: done.reduce((sum, batch) => sum + batch.contacts, 0),
        total: Math.max(contactsTotal, plan?.toImport ?? 0),
      },
    });
  report();
  const planning = input.planning;
  const arrivals =
    planning &&
    (async function* () {
      for await (const batch of planning) {
        batches.push(batch);
        submissions.set(batch.batch, 0);
        contactsTotal += batch.contacts;
        report();
        yield batch;
      }
    })();

  const requeueOrFail = async (batch: ImportBatchCheckpoint, why: string): Promise<void> => {
    await imports.markPlanned(runId, batch.batch);
    if ((submissions.get(batch.batch) ?? 0) >= input.maxSubmissions) {
      throw new RunEngineError(
        'import-not-accepted',
        `import batch ${batch.batch} of run ${runId} (${batch.contacts} contacts) was sent ${input.maxSubmissions} times and ${why}`,
        {
          context: { run: runId, destination, batch: batch.batch },
          hint: 'Constant Contact may be having trouble: look at its status page, then run again (confirmed batches are kept)',
        },
      );
    }
  };

  /** One export of the list (a few requests, whatever its size): does it hold the adopted batch? */
  const listHoldsBatch = async (batch: ImportBatchCheckpoint, activity: ActivityReport): Promise<boolean> => {
    const contacts = JSON.parse(
      `[${(await imports.data(runId, batch.batch)).toString('utf8')}]`,
    ) as ImportContact[];
    const members = await client.exportListMembers(input.listId, {}, { names: true });
    return judgeAdoptedImport(contacts, members, activity.counters).holds;
  };

  // Batches found in flight (a resumed run): nothing else is sent until they are settled. A batch
  // planned after them may hold a newer version of one of their contacts (see `afterSettled`), and
  // which ones do is not stored.
  const foundInFlight = new Set<number>();
  for (const batch of batches) {
    if (batch.state === 'submitted' && batch.activityId !== undefined) submitted.set(batch.activityId, batch);
    else if (batch.state === 'sending') {
      const found = await findUnansweredImport(client, {
        contacts: batch.contacts,
        sentAt: batch.sentAt ?? 0,
        knownActivityIds: await claims.known(),
        now: clock.now(),
      });
      if (found) {
        await imports.markSubmitted(runId, batch.batch, found.activityId, { adopted: true });
        adopted.add(batch.batch);
        submitted.set(found.activityId, batch);
      } else {
        await imports.markPlanned(runId, batch.batch);
        queued.push(batch);
      }
    } else if (batch.state === 'planned') queued.push(batch);
  }

  for (const batch of submitted.values()) foundInFlight.add(batch.batch);

  return runActivityPipeline({
    client,
    clock,
    queued,
    arrivals,
    submitted,
    maxInFlight: input.maxInFlight,
    afterSettled: (batch) => batch.afterSettled === true || foundInFlight.size > 0,
    polling: input.polling,
    signal: input.signal,
    steps: {
      async submit(batch) {
        await lock.assertHeld();
        const importData = await imports.data(runId, batch.batch);
        const sentAt = clock.now();
        await imports.markSending(runId, batch.batch, sentAt);
        adopted.delete(batch.batch);
        submissions.set(batch.batch, (submissions.get(batch.batch) ?? 0) + 1);
        try {
          const activity = await client.importContacts({
            importData,
            contacts: batch.contacts,
            listIds: [input.listId],
          });
          await imports.markSubmitted(runId, batch.batch, activity.activityId, { adopted: false });
          return activity.activityId;
        } catch (error) {
          if (!(error instanceof ConstantContactError)) throw error;
          if (!error.mayHaveSucceeded) {
            // Refused before it was carried out (4xx, 429, 503, no connection): no activity exists.
            await imports.markPlanned(runId, batch.batch);
            throw error;
          }
          const found = await findUnansweredImport(client, {
            contacts: batch.contacts,
            sentAt,
            knownActivityIds: await claims.known(),
            now: clock.now(),
          });
          if (found) {
            await imports.markSubmitted(runId, batch.batch, found.activityId, { adopted: true });
            adopted.add(batch.batch);
            return found.activityId;
          }
          await requeueOrFail(batch, `its request kept failing (${error.code})`);
          return undefined;
        }
      },
      async settle(batch, activity) {
        if (activity.needsResubmit) {
          await requeueOrFail(batch, `its activity ended ${activity.state}`);
          return 'resubmit';
        }
        if (adopted.has(batch.batch) && !(await listHoldsBatch(batch, activity))) {
          adopted.delete(batch.batch);
          await requeueOrFail(
            batch,
            'the activity adopted for it after a lost answer did not put its contacts on the list',
          );
          return 'resubmit';
        }
        await lock.assertHeld();
        await imports.confirm(runId, destination, batch.batch, activity.counters, activity.errors);
        for (const message of activity.errors) session.rejected(batch.batch, message);
        foundInFlight.delete(batch.batch);
        done = [...done, batch];
        const totals = runImportTotals(await imports.totals(runId), session.record);
        session.update({
          counts: {
            ...session.record.counts,
            imported: totals.imported,
            unsubscribed: totals.unsubscribed,
            rejected: totals.rejected,
          },
          batches: { ...session.record.batches, importsConfirmed: totals.confirmedBatches },
        });
        report();
        await session.save();
        return 'done';
      },
    },
  });
}
