import type { ProfileSourceSpec } from '../config';
import { type RowSource, resolveRowSources, sourceAdapterFor } from './adapters/source-adapters';
import type { SourcePart } from './source-adapter';
import { SourceError, type SourceErrorCode } from './source-error';
import { locateFields } from './source-fields';

/** One reason a ProfileSource cannot be read (or, as a warning, may not be), as data. */
export interface SourceProblem {
  readonly code: SourceErrorCode;
  /** `error`: a read would fail. `warning`: it may not (jsonl, judged by its first object only). */
  readonly severity: 'error' | 'warning';
  /** Which part of the spec: `profiles` or `segmentMembership`. */
  readonly part: SourcePart;
  readonly message: string;
  readonly hint?: string;
  /** Absolute path of the file or sqlite database. */
  readonly file: string;
  /** sqlite: the table or query. */
  readonly relation?: string;
  /** The field that is missing or duplicated. */
  readonly field?: string;
}

/**
 * For the reconciler: whether `spec` (declared in a manifest in `baseDir`) can be read, and has the
 * fields an export needs: the key and `requiredFields` (the destinations' mapped fields) in the
 * profiles, the key and the segment field in the segment membership. Reads only what that takes:
 * a csv header line, a jsonl file's first object, a sqlite `pragma_table_xinfo` or the compiled
 * (never run) query. Never throws for a bad source: every problem is returned, both parts checked.
 *
 * jsonl has no header, so its fields are judged by the first object: a field absent there is a
 * `warning` (later objects may have it; a read fails only if none does).
 */
export async function checkSourceReadable(
  spec: ProfileSourceSpec,
  baseDir: string,
  requiredFields: readonly string[],
): Promise<SourceProblem[]> {
  const sources = resolveRowSources(spec, baseDir);
  const wanted: Record<SourcePart, readonly string[]> = {
    profiles: unique([spec.key, ...requiredFields]),
    segmentMembership: unique([spec.key, spec.segmentField]),
  };
  const problems: SourceProblem[] = [];
  for (const part of ['profiles', 'segmentMembership'] as const) {
    for (const problem of await checkPart(sources[part], wanted[part], part)) {
      // Both parts may live in one missing database: say so once.
      if (!problems.some((known) => known.code === problem.code && known.message === problem.message))
        problems.push(problem);
    }
  }
  return problems;
}

async function checkPart(
  source: RowSource,
  fields: readonly string[],
  part: SourcePart,
): Promise<SourceProblem[]> {
  const adapter = sourceAdapterFor(source);
  try {
    await adapter.assertReadable(source);
    const columns = await adapter.inspectColumns(source);
    if (columns.warning !== undefined) return [asProblem(columns.warning, part, 'warning')];
    if (columns.names === undefined) return [];
    const severity = columns.scope === 'every-row' ? 'error' : 'warning';
    return locateFields(columns.names, fields, columns.origin).errors.map((error) =>
      asProblem(error, part, severity),
    );
  } catch (error) {
    if (error instanceof SourceError) return [asProblem(error, part)];
    throw error;
  }
}

/**
 * Throws a `source-unreadable` SourceError when a file of `spec` is plainly not of its type: a gzip
 * file, an .xlsx workbook or another binary file saved as a csv or jsonl source (see
 * `SourceAdapter.assertReadable`). A run calls it before its read, so the failure says what the file
 * is instead of echoing its bytes as a header. Reads the first 4 KiB of each file; a file that cannot
 * be opened is left to the read to report.
 */
export async function assertSourceIsText(spec: ProfileSourceSpec, baseDir: string): Promise<void> {
  const adapter = sourceAdapterFor(spec);
  const sources = adapter.resolve(spec, baseDir);
  for (const source of [sources.profiles, sources.segmentMembership]) await adapter.assertReadable(source);
}

function asProblem(
  error: SourceError,
  part: SourcePart,
  severity: SourceProblem['severity'] = 'error',
): SourceProblem {
  const { file, relation, field } = error.context;
  return {
    code: error.code,
    severity,
    part,
    message: error.message,
    ...(error.hint === undefined ? {} : { hint: error.hint }),
    file: typeof file === 'string' ? file : '',
    ...(typeof relation === 'string' ? { relation } : {}),
    ...(typeof field === 'string' ? { field } : {}),
  };
}

function unique(fields: readonly string[]): string[] {
  return [...new Set(fields)];
}
