import type { RowIssue } from './row-issue';
import type { RowLocation } from './row-location';

/**
 * One row of a source as a reader yields it: the values of the fields that were asked for, in the
 * order they were asked for. A value is `undefined` when absent (a jsonl key that is missing or
 * null, a sqlite NULL); csv cells are always present (an empty cell is `''`).
 *
 * With `issue` set the row could not be read properly (a csv quoting error, a wrong column count, a
 * jsonl line that is not an object): the caller reports it, and `values` holds whatever could be
 * read (each `undefined` if nothing), so that the caller can still name the row's key.
 */
export interface SourceRecord {
  readonly values: readonly (string | undefined)[];
  readonly where: RowLocation;
  readonly issue?: RowIssue;
  /**
   * A warning about the row that does not stop it (it is read and exported as it is): the file's
   * last line has no line break, so it may have been cut short. Reported whether or not the row is
   * selected: it speaks of the file.
   */
  readonly warning?: RowIssue;
}

/** Reads the rows of one source file or relation; see `readSourceRows`. */
export type SourceRows = AsyncIterable<SourceRecord>;

/**
 * A batch of rows as a `SourceRowProvider` hands it over. A read shared by several callers
 * (`SharedSourceRead`) hands each only the rows it would not ignore, and says in `routedAway` how
 * many rows of the source the batch stood for beyond those: rows the caller would have skipped, so
 * that its counts of rows read (`batchRows`) stay those of a read of its own.
 */
export type SourceRecordBatch = readonly SourceRecord[] & { readonly routedAway?: number };

/** The rows of the source `batch` stands for: its own, and those routed away from it. */
export function batchRows(batch: SourceRecordBatch): number {
  return batch.length + (batch.routedAway ?? 0);
}
