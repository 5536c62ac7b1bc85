import { setImmediate as nextTurn } from 'node:timers/promises';
import { ImportBatchCutter, type ImportBatchLimits } from '../constant-contact';
import { duplicateEmailIssue, type RowIssue } from '../profiles';
import type { PlannedImportBatch, RunStaging } from './run-store';

/** What the planning pass found. */
export type ImportPlanCounts = {
  /** Distinct emails: the contacts the list should hold. */
  readonly contacts: number;
  readonly adds: number;
  readonly updates: number;
  readonly unchanged: number;
  /** Profiles not exported because another selected profile has the same email. */
  readonly duplicates: number;
  /** Contacts to send (adds and updates, or all with `full`). */
  readonly toImport: number;
  readonly importCalls: number;
};

export interface PlanImportsOptions {
  readonly staging: RunStaging;
  readonly listId: string;
  /** Send every contact, changed or not. */
  readonly full: boolean;
  readonly batchLimits: ImportBatchLimits;
  /** Receives a `duplicate-email` warning per profile that loses the dedupe. */
  readonly onIssue: (issue: RowIssue) => void;
  /** Stores each import batch as it is cut (a real run); a dry run leaves it out and only counts. */
  readonly storeBatch?: (batch: number, planned: PlannedImportBatch) => Promise<void>;
  /** Checked between pages: an aborted signal stops the pass with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** A contact to send, as the cutter needs it: its email (range bounds) and its entry's size. */
type PlannedContact = {
  readonly emailKey: string;
  readonly key: string;
  readonly bytes: number;
  /** Its row's position in the pass: how many staged rows its batch's range spans. */
  readonly row: number;
};

/** A batch whose contacts are fewer than this share of the rows of their range is picked by key. */
const sparseBatchShare = 0.5;

/**
 * The planning pass over a run's sorted staging: dedupes (the first row of each email wins, and each
 * other row is deleted from the staging and reported), diffs each winner's fingerprint against the
 * snapshot's, and cuts the contacts to send into import batches (count and byte bounds), handing
 * each to `storeBatch`. Yields to the event loop between pages so that progress and signals are
 * served.
 */
export async function planImports(options: PlanImportsOptions): Promise<ImportPlanCounts> {
  const { staging, full } = options;
  const cutter = new ImportBatchCutter<PlannedContact>(
    [options.listId],
    options.batchLimits,
    (contact) => contact.bytes,
  );
  const counts = {
    contacts: 0,
    adds: 0,
    updates: 0,
    unchanged: 0,
    duplicates: 0,
    toImport: 0,
    importCalls: 0,
  };
  const store = async (batch: { contacts: readonly PlannedContact[]; bodyBytes: number } | undefined) => {
    if (batch === undefined) return;
    counts.importCalls += 1;
    const first = batch.contacts[0] as PlannedContact;
    const last = batch.contacts[batch.contacts.length - 1] as PlannedContact;
    const sparse = batch.contacts.length < sparseBatchShare * (last.row - first.row + 1);
    await options.storeBatch?.(counts.importCalls, {
      contacts: batch.contacts.length,
      bodyBytes: batch.bodyBytes,
      firstEmail: first.emailKey,
      lastEmail: last.emailKey,
      ...(sparse ? { keys: batch.contacts.map((contact) => [contact.emailKey, contact.key] as const) } : {}),
    });
  };
  let rows = 0;
  let winner: { emailKey: string; key: string } | undefined;
  for await (const page of staging.pages()) {
    options.signal?.throwIfAborted();
    for (const row of page) {
      rows += 1;
      const [emailKey, key, bytes, snapshot] = row;
      if (emailKey === winner?.emailKey) {
        counts.duplicates += 1;
        const email = await staging.dropLoser(row);
        const dropped = { key, email, emailKey, segments: [], where: staging.rowLocation(row) };
        options.onIssue(duplicateEmailIssue(dropped, { key: winner.key, email }));
        continue;
      }
      winner = { emailKey, key };
      counts.contacts += 1;
      if (snapshot === 0) counts.adds += 1;
      else if (snapshot === 2) counts.updates += 1;
      else {
        counts.unchanged += 1;
        if (!full) continue;
      }
      counts.toImport += 1;
      await store(cutter.add({ emailKey, key, bytes, row: rows }));
    }
    await nextTurn();
  }
  await store(cutter.finish());
  return counts;
}
