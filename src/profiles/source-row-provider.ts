import type { ProfileSourceSpec } from '../config';
import { type RowSource, sourceFingerprint } from './adapters/source-adapters';
import type { SourceRowOptions } from './source-adapter';
import type { SourceRecordBatch } from './source-record';
import { checkSourceReadsWhole, readSourceRowBatches } from './source-rows';

/**
 * Where a read's rows come from. `readContacts` asks it once per part of the source (the
 * segment membership first, then the profiles), each time for the fields and options a read of
 * that part alone would use, and iterates the answer once; stopping early (`return`) says it wants
 * no more. The same batches, in the same order, with the same failures as `readSourceRowBatches`
 * gives for those arguments: that is what keeps a shared read (see `SharedSourceRead`) exact.
 * Exact up to rows the caller ignores: a shared read may leave those out of a batch, counting them
 * in its `routedAway` (see `SourceRecordBatch`), so a caller counts rows read with `batchRows`.
 */
export interface SourceRowProvider {
  rowBatches(
    source: RowSource,
    fields: readonly string[],
    options: SourceRowOptions,
  ): AsyncIterable<SourceRecordBatch>;
  /**
   * The content fingerprint of `spec`'s data, as `sourceFingerprint(spec, baseDir)` gives it; left
   * out, that is what a caller uses. A shared read answers it once for all its members (hashing a
   * source costs about as much as reading it).
   */
  fingerprint?(spec: ProfileSourceSpec, baseDir: string): Promise<string>;
  /**
   * Whether `rowBatches` with these arguments is known not to reject part-way for what the data
   * holds (false: only the read's end can tell); rejects with the SourceError it would. As
   * `checkSourceReadsWhole(source, fields, options)`, which is what a caller uses when this is left
   * out. A shared read checks once for all its members.
   */
  checkReadsWhole?(source: RowSource, fields: readonly string[], options: SourceRowOptions): Promise<boolean>;
}

/** The provider of a read of its own: each call reads the file or relation (`readSourceRowBatches`). */
export const ownSourceRowsProvider: SourceRowProvider = {
  rowBatches: (source, fields, options) => readSourceRowBatches(source, fields, options),
  fingerprint: (spec, baseDir) => sourceFingerprint(spec, baseDir),
  checkReadsWhole: (source, fields, options) => checkSourceReadsWhole(source, fields, options),
};
