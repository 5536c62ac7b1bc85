import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { stringifyFieldValue } from './field-value';
import type { RowIssue } from './row-issue';
import { formatRowLocation, type RowLocation } from './row-location';
import { SourceError } from './source-error';
import { assertSourceFile, sourceFileError } from './source-file';
import type { SourceRecord } from './source-record';

/**
 * Streams a jsonl file: one JSON object per line (UTF-8, BOM dropped; LF or CRLF); blank lines are
 * skipped. Yields `fields`' values per object, stringified by `stringifyFieldValue`, with the line.
 * A line that is not JSON (`invalid-json`), not an object (`not-an-object`), or whose needed field
 * is an integer beyond 2^53 that JSON.parse cannot hold exactly (`imprecise-number`) is yielded
 * with an `issue`.
 *
 * jsonl has no header, so a field absent from one object is just absent there. A field that no
 * object in the whole file has is a configuration mistake: after the last row the read rejects with
 * `source-field-missing` (nothing is sent before the whole source is read, so the run stops clean).
 * Rejects with `source-file-missing` / `source-unreadable` when the file cannot be read.
 */
export async function* readJsonlRows(file: string, fields: readonly string[]): AsyncGenerator<SourceRecord> {
  await assertSourceFile(file);
  const input = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY });
  const seen = fields.map(() => false);
  const nothing = fields.map(() => undefined);
  let objects = 0;
  let line = 0;
  try {
    for await (const raw of lines) {
      line++;
      const text = line === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
      if (text.trim() === '') continue;
      const where = { file, line };
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        yield {
          values: nothing,
          where,
          issue: lineIssue('invalid-json', where, `not valid JSON (${reason})`),
        };
        continue;
      }
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
        yield { values: nothing, where, issue: lineIssue('not-an-object', where, 'not a JSON object') };
        continue;
      }
      objects++;
      const object = parsed as Record<string, unknown>;
      let imprecise: string | undefined;
      const values = fields.map((field, index) => {
        if (!Object.hasOwn(object, field)) return undefined;
        seen[index] = true;
        const value = object[field];
        if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value))
          imprecise = field;
        return stringifyFieldValue(value);
      });
      if (imprecise !== undefined) {
        const issue = lineIssue(
          'imprecise-number',
          where,
          `"${imprecise}" is an integer too large to read exactly; write it as a JSON string`,
        );
        yield { values, where, issue: { ...issue, field: imprecise } };
        continue;
      }
      yield { values, where };
    }
  } catch (error) {
    throw sourceFileError(file, error);
  } finally {
    lines.close();
    input.destroy();
  }
  const never = fields.filter((_, index) => !seen[index]);
  if (objects > 0 && never[0] !== undefined)
    throw new SourceError('source-field-missing', `no object in ${file} has the field "${never[0]}"`, {
      context: { file, field: never[0] },
      hint: 'field names are case-sensitive; fix the manifest or the source',
    });
}

function lineIssue(code: RowIssue['code'], where: RowLocation, reason: string): RowIssue {
  return {
    severity: 'error',
    code,
    message: `${formatRowLocation(where)}: ${reason}; the row is not exported`,
    where,
  };
}
