import type { ProfileSourceSpec } from '../../config';
import type { SourceAdapter, SourceChangeWatch, SourcePart, SourceType } from '../source-adapter';
import type { SourceError } from '../source-error';
import { csvSource } from './csv-source';
import { jsonlSource } from './jsonl-source';
import { postgresSource } from './postgres-source';
import { sqliteSource } from './sqlite-source';

/**
 * The registry: one adapter per source type of the schema's `type` enum (a type added there and not
 * here fails to compile). The only place that maps a type to its code; everything else asks the
 * source's adapter (`sourceAdapterFor`) instead of comparing types.
 */
export const sourceAdapters = {
  csv: csvSource,
  jsonl: jsonlSource,
  sqlite: sqliteSource,
  postgres: postgresSource,
} as const satisfies { readonly [Type in SourceType]: SourceAdapter<{ readonly type: Type }> };

type PartOf<Adapter> = Adapter extends SourceAdapter<infer Part> ? Part : never;

/**
 * One readable part of a ProfileSource (its profiles or its segment membership) with absolute
 * paths: a csv/jsonl file, or a sqlite table/view/query. Made by `resolveRowSources`, read by
 * `readSourceRows`; its fields are the adapter's (`CsvPart`, `JsonlPart`, `SqlitePart`).
 */
export type RowSource = PartOf<(typeof sourceAdapters)[SourceType]>;

/**
 * The adapter of a source (a spec or one of its resolved parts), by its `type`. Throws a plain Error
 * for a type no adapter reads: specs are validated against the schema before they get here.
 */
export function sourceAdapterFor(source: { readonly type: SourceType }): SourceAdapter<RowSource> {
  const adapter: SourceAdapter<RowSource> | undefined = Object.hasOwn(sourceAdapters, source.type)
    ? sourceAdapters[source.type]
    : undefined;
  if (adapter === undefined) throw new Error(`no profile source adapter reads type "${String(source.type)}"`);
  return adapter;
}

/**
 * The profiles and segment-membership parts of `spec`, with files resolved against `baseDir` (the
 * folder of the manifest that declares the source). Reads nothing.
 */
export function resolveRowSources(spec: ProfileSourceSpec, baseDir: string): Record<SourcePart, RowSource> {
  return { ...sourceAdapterFor(spec).resolve(spec, baseDir) };
}

/** `spec` with each file path it holds passed through `map` (see `SourceAdapter.mapPaths`). */
export function mapSourcePaths(
  spec: ProfileSourceSpec,
  map: (path: string, field: keyof ProfileSourceSpec) => string,
): ProfileSourceSpec {
  return sourceAdapterFor(spec).mapPaths(spec, map);
}

/** The files watch mode watches for a change to the data of `spec` (paths absolute). */
export function sourceWatchPaths(spec: ProfileSourceSpec): readonly string[] {
  return sourceAdapterFor(spec).watchPaths(spec);
}

/**
 * The file the data of `spec` is anchored on (see `SourceAdapter.originFile`): the folder of its Git
 * commit, and the base folder of a spec whose paths are absolute. Undefined when it names none.
 */
export function sourceOriginFile(spec: ProfileSourceSpec): string | undefined {
  return sourceAdapterFor(spec).originFile(spec);
}

/** Watches `spec`'s data by its own means, if it asks for that (see `SourceAdapter.watchChanges`). */
export function watchSourceChanges(
  spec: ProfileSourceSpec,
  onChange: (what: string) => void,
  onError: (error: SourceError) => void,
): SourceChangeWatch | undefined {
  return sourceAdapterFor(spec).watchChanges?.(spec, onChange, onError);
}

/**
 * What a run records of where the data of `spec` came from when it is no file in a Git working
 * tree (see `SourceAdapter.originIdentity`): undefined for file sources.
 */
export function sourceOriginIdentity(spec: ProfileSourceSpec): string | undefined {
  return sourceAdapterFor(spec).originIdentity?.(spec);
}

/**
 * The content fingerprint of the data of `spec` (see `SourceAdapter.fingerprint`), its paths
 * resolved against `baseDir`: equal while the data is, different once a row changed. Reads the
 * source whole; rejects with a SourceError when it cannot be read.
 */
export function sourceFingerprint(spec: ProfileSourceSpec, baseDir: string): Promise<string> {
  const adapter = sourceAdapterFor(spec);
  return adapter.fingerprint(adapter.resolve(spec, baseDir));
}
