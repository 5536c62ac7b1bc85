import { setImmediate as nextTurn } from 'node:timers/promises';
import { ImportBatchCutter, type ImportBatchLimits } from '../constant-contact';
import type {
  ImportBatchCheckpoint,
  ImportBatchStore,
  PlannedImportBatch,
  UnplannedContact,
} from './run-store';

/** Staged contacts cut between two looks at the signal and turns of the event loop. */
const contactsPerTurn = 50_000;

/**
 * Cuts staged contacts (pages of `[seq, bytes]`, in `seq` order) into import batches within
 * `limits`, in order. The same contacts always give the same batches, so a run that stopped while
 * planning cuts what is left as it would have. Yields to the event loop now and then; an aborted
 * signal stops it with its reason.
 */
export async function* cutImportBatches(
  pages: AsyncIterable<readonly UnplannedContact[]> | Iterable<readonly UnplannedContact[]>,
  listId: string,
  limits: ImportBatchLimits,
  signal: AbortSignal | undefined,
): AsyncGenerator<PlannedImportBatch> {
  const cutter = new ImportBatchCutter<UnplannedContact>([listId], limits, (contact) => contact[1]);
  const planned = (batch: {
    contacts: readonly UnplannedContact[];
    bodyBytes: number;
  }): PlannedImportBatch => ({
    contacts: batch.contacts.length,
    bodyBytes: batch.bodyBytes,
    firstSeq: (batch.contacts[0] as UnplannedContact)[0],
    lastSeq: (batch.contacts[batch.contacts.length - 1] as UnplannedContact)[0],
  });
  let cut = 0;
  for await (const page of pages) {
    for (const contact of page) {
      const closed = cutter.add(contact);
      if (closed !== undefined) yield planned(closed);
      cut += 1;
      if (cut % contactsPerTurn === 0) {
        signal?.throwIfAborted();
        await nextTurn();
      }
    }
  }
  const last = cutter.finish();
  if (last !== undefined) yield planned(last);
}

export interface PlanImportBatchesInput {
  readonly imports: ImportBatchStore;
  readonly runId: number;
  /**
   * The batches to plan, in order: a fresh run's cut (made in memory as it reads and plans), or undefined
   * to cut the staged contacts no batch holds yet (`unplanned`: a resumed run's rest, often none).
   */
  readonly batches: AsyncIterable<PlannedImportBatch> | Iterable<PlannedImportBatch> | undefined;
  readonly listId: string;
  readonly limits: ImportBatchLimits;
}

/**
 * Plans a run's import batches one at a time, as the import phase asks for them: each is stored
 * (`imports.plan`, state `planned`) before it is yielded, numbered after those already stored, so
 * that the first ones are sent while later ones are still being planned. Nothing runs until the
 * first batch is asked for. A run stopped in between (a kill, a signal, the quota) leaves its
 * planned batches as any others and the rest of its staged contacts unplanned: the run's resume
 * plans them (`batches` undefined), so no contact is planned twice or lost.
 */
export async function* planImportBatches(
  input: PlanImportBatchesInput,
): AsyncGenerator<ImportBatchCheckpoint> {
  const { imports, runId } = input;
  const stored = await imports.batches(runId);
  let batch = (stored[stored.length - 1]?.batch ?? 0) + 1;
  // No signal for the cut here: a stop between batches pauses the run (the pipeline stops asking
  // for more), it does not fail it.
  const batches =
    input.batches ?? cutImportBatches(imports.unplanned(runId), input.listId, input.limits, undefined);
  for await (const planned of batches) {
    await imports.plan(runId, batch, planned);
    yield {
      batch,
      contacts: planned.contacts,
      bodyBytes: planned.bodyBytes,
      state: 'planned',
      submissions: 0,
      sentAt: undefined,
      activityId: undefined,
      adopted: false,
      ...(planned.afterSettled ? { afterSettled: true } : {}),
    };
    batch += 1;
  }
}
