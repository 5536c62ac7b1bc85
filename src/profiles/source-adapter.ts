import type { ProfileSourceSpec } from '../config';
import type { SegmentSelection } from './segment-selection';
import type { SourceError } from './source-error';
import type { SourceRecord } from './source-record';

/** The source types the ProfileSource schema allows (`spec.type`): one adapter each. */
export type SourceType = ProfileSourceSpec['type'];

/** Which part of a ProfileSource spec a RowSource stands for. */
export type SourcePart = 'profiles' | 'segmentMembership';

/** A file, or a relation (sqlite: a table or a query) of a database file: for messages and errors. */
export interface SourceOrigin {
  /** The file, or a database server's identity (`postgresql://host:port/database`). */
  readonly file: string;
  readonly relation?: string;
}

/** How rows are read, beyond the fields. */
export interface SourceRowOptions {
  /**
   * Fields whose values may hold line breaks (names): in csv, a line break in any other field means
   * a broken quote, and the read fails (see `readCsvRowBatches`).
   */
  readonly multiLineFields?: readonly string[];
  /**
   * The rows the caller is going to ignore, which a source that can filter where the data is
   * (postgres) leaves out so that they never leave it; others read every row (a filter is a hint,
   * never a requirement: the caller selects as if every row came). A read shared by several
   * destinations asks without one (`SharedSourceRead`).
   */
  readonly only?: SourceRowFilter;
  /**
   * `checkReadsWhole` only: stops the check (its read has ended or stopped, and no longer waits for
   * it), which then resolves false without reading on.
   */
  readonly signal?: AbortSignal;
}

/** See `SourceRowOptions.only`. */
export type SourceRowFilter =
  /**
   * Membership rows whose `segmentField` is one of `segments` (compared trimmed and lowercased,
   * so that near misses, "vip" for "VIP", still come and are reported).
   */
  | { readonly kind: 'segments'; readonly segmentField: string; readonly segments: readonly string[] }
  /**
   * Profile rows whose `key` is the key of a row of `membership` (the membership part of the same
   * source) whose `segmentField` is exactly one of `segments`.
   */
  | {
      readonly kind: 'members';
      readonly key: string;
      readonly membership: { readonly type: SourceType };
      readonly segmentField: string;
      readonly segments: readonly string[];
      /**
       * The caller's selection of those members, complete (read from `membership` before the
       * profiles are asked for): the keys it will not ignore. Adapters leave it alone (they filter
       * by `segments`, if at all); a read shared by several callers (`SharedSourceRead`) hands each
       * only the rows of its keys, looking each row's key up once for all of them.
       */
      readonly selection?: SegmentSelection;
    };

/** What a source says of its columns without reading its rows (see `SourceAdapter.inspectColumns`). */
export interface SourceColumns {
  /** Where the columns were read, for the messages of a field that is not there. */
  readonly origin: SourceOrigin;
  /**
   * The column names, in order (duplicates kept), or undefined when the source has nothing to judge
   * them by (an empty jsonl file): then no field can be said to be missing.
   */
  readonly names: readonly string[] | undefined;
  /**
   * `every-row`: every row has exactly these columns (a csv header, a sqlite relation), so a field
   * that is not among them fails a read: an error. `first-row`: they are the first row's only (jsonl
   * has no header), later rows may have more: a missing field is a warning.
   */
  readonly scope: 'every-row' | 'first-row';
  /**
   * Why the columns could not be judged although a read may still work (the first jsonl line is not
   * an object): reported as a warning, and then `names` is undefined.
   */
  readonly warning?: SourceError;
}

/** A running `SourceAdapter.watchChanges`. */
export interface SourceChangeWatch {
  /** Stops watching; resolves once no check is in flight and its connection is closed. */
  stop(): Promise<void>;
}

/**
 * One profile source type (csv, jsonl, sqlite, postgres): everything the rest of exportctl needs of a source,
 * so that nothing outside the registry (`sourceAdapterFor`) asks which type a source is. `Part` is the
 * type's resolved part (`RowSource`): what one of the spec's two parts, profiles and segment
 * membership, is once its paths are absolute.
 *
 * Adding a type: one file in `adapters/` that implements this, one line in the registry, one value in
 * the schema's `type` enum. Every adapter passes the same contract suite
 * (test/unit/profiles/source-adapter-contract.test.ts).
 *
 * Errors: every method that reads rejects with a `SourceError` whose code is the same for the same
 * failure whatever the type: `source-file-missing` (nothing at the path), `source-unreadable` (a
 * folder, no permission, not of the type), and the type's own (`source-no-header`,
 * `source-table-missing`, `source-query-invalid`...).
 */
export interface SourceAdapter<Part extends { readonly type: SourceType }> {
  readonly type: Part['type'];

  /**
   * `spec` (of this type) with each path it holds (file or database, never a table or query) passed
   * through `map`, with the spec field it came from; absent paths stay absent. Reads nothing. What
   * makes a stored spec's relative paths absolute (`locatedSourceSpec`) or compares them.
   */
  mapPaths(
    spec: ProfileSourceSpec,
    map: (path: string, field: keyof ProfileSourceSpec) => string,
  ): ProfileSourceSpec;

  /** The two parts of `spec`, paths resolved against `baseDir` (the manifest's folder). Reads nothing. */
  resolve(spec: ProfileSourceSpec, baseDir: string): Readonly<Record<SourcePart, Part>>;

  /**
   * Rejects with `source-unreadable` when `part` is plainly not of this type (a gzip file or an
   * .xlsx workbook saved as profiles.csv): a run calls it before its read so that the failure says
   * what the file is instead of echoing its bytes as a header. Reads a few KiB at most; a file that
   * cannot be opened is left to the read to report (resolves).
   */
  assertReadable(part: Part): Promise<void>;

  /** The columns of `part` (see `SourceColumns`), reading a header line, a first row or a schema only. */
  inspectColumns(part: Part): Promise<SourceColumns>;

  /**
   * Streams the rows of `part` in batches, each row with the values of `fields` in that order (see
   * `SourceRecord`). Memory stays flat whatever the size. Unreadable rows are yielded with an issue;
   * a part that cannot be read at all rejects with a SourceError (missing, unreadable, a needed
   * field that is not there, a file that changed while it was read).
   */
  readRowBatches(
    part: Part,
    fields: readonly string[],
    options: SourceRowOptions,
  ): AsyncIterable<SourceRecord[]>;

  /**
   * Whether a read of `part` with these arguments is known not to fail part-way for what the data
   * holds: true once that is known (csv: no broken quote; jsonl: every field in some object, both
   * found by reading the file through as fast as it can), false when only the read's end can tell
   * (a sqlite or postgres query or view, whose expressions may fail on some row); rejects with the
   * SourceError that read would reject with. A run that sends while it reads holds its first batch
   * until this is true, or the read has ended, so that a source that cannot be read whole sends
   * nothing.
   */
  checkReadsWhole(part: Part, fields: readonly string[], options: SourceRowOptions): Promise<boolean>;

  /**
   * The files whose change means the data of `spec` (paths absolute) changed: what watch mode
   * watches. They may not exist yet (a sqlite `-wal` file); a change to any of them is a change.
   */
  watchPaths(spec: ProfileSourceSpec): readonly string[];

  /**
   * The file the source's data is anchored on (the profiles file, the database), or undefined when
   * the spec names none: its folder is where the Git commit of the data is looked up, and the base
   * folder of a spec whose paths are already absolute. Reads nothing.
   */
  originFile(spec: ProfileSourceSpec): string | undefined;

  /**
   * Watches the data of `spec` (paths absolute) for changes without reading it whole, by the
   * spec's own means (postgres: `changeDetection`, a cheap query run every so often or a LISTEN
   * channel): calls `onChange` with what was noticed, `onError` when a check fails (watching goes
   * on). Undefined when the spec asks for no such watch, or the type has none (files are watched
   * by `watchPaths`).
   */
  watchChanges?(
    spec: ProfileSourceSpec,
    onChange: (what: string) => void,
    onError: (error: SourceError) => void,
  ): SourceChangeWatch | undefined;

  /**
   * Where the data is when it is not in a file (a database server): its identity without any
   * credential (`postgresql://host:5432/crm#profiles`), which a run records instead of the Git
   * commit of `originFile`. Absent for file sources. Reads nothing.
   */
  originIdentity?(spec: ProfileSourceSpec): string | undefined;

  /**
   * A fingerprint of the data the two parts hold: equal for equal data, different when a row of
   * either part changes (a different value, a row added, removed or moved). Made of the content,
   * not of names or times: a file rewritten with the same bytes keeps its fingerprint. An opaque
   * string (`sha256:` and hex); compare it only with one of the same type. Reads every part whole
   * (files: their bytes; sqlite: the selected relation's rows), once. Rejects like a read does when
   * a part cannot be read at all.
   */
  fingerprint(parts: Readonly<Record<SourcePart, Part>>): Promise<string>;
}
