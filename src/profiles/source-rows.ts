import { type RowSource, sourceAdapterFor } from './adapters/source-adapters';
import { flattenBatches } from './readable-batches';
import type { SourceRowOptions } from './source-adapter';
import type { SourceRecord } from './source-record';

/**
 * Streams the rows of `source`, each with the values of `fields` in that order (see SourceRecord).
 * Memory stays flat whatever the size. Unreadable rows are yielded with an issue; a source that
 * cannot be read at all rejects with a SourceError (see `readCsvRowBatches`, `readJsonlRowBatches`,
 * `readSqliteRowBatches` for the details of each type).
 */
export function readSourceRows(
  source: RowSource,
  fields: readonly string[],
  options: SourceRowOptions = {},
): AsyncIterable<SourceRecord> {
  return flattenBatches(readSourceRowBatches(source, fields, options));
}

/**
 * `readSourceRows` in batches (a chunk of the file, or up to 1,000 sqlite rows, at a time), for hot
 * loops: at 1,000,000 rows one await per row is a visible share of the read time.
 */
export function readSourceRowBatches(
  source: RowSource,
  fields: readonly string[],
  options: SourceRowOptions = {},
): AsyncIterable<SourceRecord[]> {
  return sourceAdapterFor(source).readRowBatches(source, fields, options);
}

/**
 * Whether a read of `source` with these arguments is known not to fail part-way for what it holds:
 * true, or false when only the read's end can tell; rejects with the SourceError that read would
 * (see `SourceAdapter.checkReadsWhole`).
 */
export function checkSourceReadsWhole(
  source: RowSource,
  fields: readonly string[],
  options: SourceRowOptions = {},
): Promise<boolean> {
  return sourceAdapterFor(source).checkReadsWhole(source, fields, options);
}
