import { resolve } from 'node:path';
import type { ProfileSourceSpec } from '../config';
import { readCsvRowBatches } from './csv-rows';
import { readJsonlRowBatches } from './jsonl-rows';
import { flattenBatches } from './readable-batches';
import type { SourceEncoding } from './source-encoding';
import type { SourceRecord } from './source-record';
import { readSqliteRowBatches } from './sqlite-rows';

/** One readable part of a ProfileSource: a csv/jsonl file, or a sqlite table/view/query. */
export type RowSource =
  | { readonly type: 'csv' | 'jsonl'; readonly file: string; readonly encoding?: SourceEncoding }
  | { readonly type: 'sqlite'; readonly database: string; readonly relation: string };

/** Which part of a ProfileSource spec a RowSource stands for. */
export type SourcePart = 'profiles' | 'segmentMembership';

/**
 * The profiles and segment-membership parts of `spec`, with files resolved against `baseDir` (the
 * folder of the manifest that declares the source). Reads nothing.
 */
export function resolveRowSources(spec: ProfileSourceSpec, baseDir: string): Record<SourcePart, RowSource> {
  const part = (value: string): RowSource => {
    if (spec.type === 'sqlite')
      return { type: 'sqlite', database: resolve(baseDir, spec.database ?? ''), relation: value };
    return {
      type: spec.type,
      file: resolve(baseDir, value),
      ...(spec.encoding === undefined ? {} : { encoding: spec.encoding }),
    };
  };
  return { profiles: part(spec.profiles), segmentMembership: part(spec.segmentMembership) };
}

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

/** How rows are read, beyond the fields. */
export interface SourceRowOptions {
  /**
   * Fields whose values may hold line breaks (names): in csv, a line break in any other field means
   * a broken quote, and the read fails (see `readCsvRowBatches`).
   */
  readonly multiLineFields?: readonly string[];
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
  const encoding =
    source.type === 'sqlite' || source.encoding === undefined ? {} : { encoding: source.encoding };
  switch (source.type) {
    case 'csv':
      return readCsvRowBatches(source.file, fields, { ...encoding, ...options });
    case 'jsonl':
      return readJsonlRowBatches(source.file, fields, encoding);
    case 'sqlite':
      return readSqliteRowBatches(source.database, source.relation, fields);
  }
}
