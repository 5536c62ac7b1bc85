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
