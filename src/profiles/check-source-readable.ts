import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { ProfileSourceSpec } from '../config';
import { readCsvHeader } from './csv-rows';
import { SourceError, type SourceErrorCode } from './source-error';
import { locateFields } from './source-fields';
import { assertSourceFile, sourceFileError } from './source-file';
import { type RowSource, resolveRowSources, type SourcePart } from './source-rows';
import { openSqliteRelation } from './sqlite-rows';

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
  try {
    switch (source.type) {
      case 'csv': {
        const header = await readCsvHeader(
          source.file,
          source.encoding === undefined ? {} : { encoding: source.encoding },
        );
        return locateFields(header, fields, { file: source.file }).errors.map((error) =>
          asProblem(error, part),
        );
      }
      case 'jsonl': {
        const first = await readFirstJsonlObject(source.file);
        if (first === 'empty') return [];
        if (first === 'not-an-object')
          return [
            {
              code: 'source-unreadable',
              severity: 'warning',
              part,
              message: `the first line of ${source.file} is not a JSON object`,
              hint: 'a jsonl source holds one JSON object per line; is the source type right?',
              file: source.file,
            },
          ];
        return locateFields(Object.keys(first), fields, { file: source.file }).errors.map((error) =>
          asProblem(error, part, 'warning'),
        );
      }
      case 'sqlite': {
        const relation = await openSqliteRelation(source.database, source.relation);
        try {
          const origin = { file: source.database, relation: source.relation };
          return locateFields(relation.columns, fields, origin).errors.map((error) => asProblem(error, part));
        } finally {
          relation.close();
        }
      }
    }
  } catch (error) {
    if (error instanceof SourceError) return [asProblem(error, part)];
    throw error;
  }
}

/** The object on the first non-blank line, reading nothing past that line. */
async function readFirstJsonlObject(file: string): Promise<object | 'empty' | 'not-an-object'> {
  await assertSourceFile(file);
  const input = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    let first = true;
    for await (const raw of lines) {
      // As the reader does: a byte-order mark is stripped from the file's first line only.
      const text = first ? raw.replace(/^\uFEFF/, '') : raw;
      first = false;
      if (text.trim() === '') continue;
      try {
        const parsed: unknown = JSON.parse(text);
        return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
          ? parsed
          : 'not-an-object';
      } catch {
        return 'not-an-object';
      }
    }
    return 'empty';
  } catch (error) {
    throw sourceFileError(file, error);
  } finally {
    lines.close();
    input.destroy();
  }
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
