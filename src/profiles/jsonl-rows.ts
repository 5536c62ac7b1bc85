import { createReadStream } from 'node:fs';
import { stringifyFieldValue } from './field-value';
import { noFinalLineBreakWarning, type RowIssue } from './row-issue';
import { formatRowLocation, type RowLocation } from './row-location';
import { defaultSourceEncoding, type SourceEncoding } from './source-encoding';
import { SourceError } from './source-error';
import { assertFileUnchanged, checkChunkBytes, sourceFileError, statSourceFile } from './source-file';
import type { SourceRecord } from './source-record';

/**
 * Streams a jsonl file: one JSON object per line (UTF-8, BOM dropped; LF, CRLF or CR); blank lines
 * are skipped. Yields `fields`' values per object, stringified by `stringifyFieldValue`, with the
 * line. A line that is not JSON (`invalid-json`), not an object (`not-an-object`), or whose needed
 * field is an integer beyond 2^53 that JSON.parse cannot hold exactly (`imprecise-number`) is
 * yielded with an `issue`.
 *
 * jsonl has no header, so a field absent from one object is just absent there. A field that no
 * object in the whole file has is a configuration mistake: after the last row the read rejects with
 * `source-field-missing` (a run that sends while it reads learns it before its first batch leaves:
 * `checkJsonlReadsWhole`).
 * Rejects with `source-file-missing` / `source-unreadable` when the file cannot be read.
 * Yields in batches (one per chunk of the file read): fewer awaits in hot loops.
 */
export async function* readJsonlRowBatches(
  file: string,
  fields: readonly string[],
  options: { readonly encoding?: SourceEncoding; readonly chunkBytes?: number } = {},
): AsyncGenerator<SourceRecord[]> {
  const version = await statSourceFile(file);
  const seen = fields.map(() => false);
  let objects = 0;
  let line = 0;
  const end = { unterminated: false };
  // One batch behind, so that the last row can still get its warning once the end is seen.
  let held: SourceRecord[] | undefined;
  const encoding = options.encoding ?? defaultSourceEncoding;
  for await (const lines of readLineBatches(file, encoding, end, options.chunkBytes)) {
    if (held !== undefined) {
      // Read from the file as it was when the read began (see `readCsvRowBatches`).
      await assertFileUnchanged(file, version);
      yield held;
    }
    held = undefined;
    const rows: SourceRecord[] = [];
    for (const raw of lines) {
      line++;
      const text = line === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
      if (text.trim() === '') continue;
      const where = { file, line };
      const row = readObject(text, fields, where, seen);
      if (row.issue === undefined) objects++;
      rows.push(row);
    }
    if (rows.length > 0) held = rows;
  }
  await assertFileUnchanged(file, version);
  if (held !== undefined) {
    const last = held[held.length - 1];
    if (end.unterminated && last !== undefined && last.where.line === line && last.issue === undefined)
      held[held.length - 1] = { ...last, warning: noFinalLineBreakWarning(last.where) };
    yield held;
  }
  const never = fields.filter((_, index) => !seen[index]);
  if (objects > 0 && never[0] !== undefined)
    throw new SourceError('source-field-missing', `no object in ${file} has the field "${never[0]}"`, {
      context: { file, field: never[0] },
      hint: 'field names are case-sensitive; fix the manifest or the source',
    });
}

/**
 * Resolves (true) when `readJsonlRowBatches(file, fields, options)` will not reject part-way for what the
 * file holds: its one such failure, a field that no object has, is found at the end. Reads until
 * every field has been seen in an object (the first line, in most files), else through.
 */
export async function checkJsonlReadsWhole(
  file: string,
  fields: readonly string[],
  options: { readonly encoding?: SourceEncoding; readonly signal?: AbortSignal } = {},
): Promise<boolean> {
  const seen = fields.map(() => false);
  let unseen = fields.length;
  for await (const rows of readJsonlRowBatches(file, fields, { ...options, chunkBytes: checkChunkBytes })) {
    if (options.signal?.aborted) return false;
    for (const row of rows) {
      if (row.issue !== undefined) continue;
      for (let index = 0; index < fields.length; index++) {
        if (seen[index] || row.values[index] === undefined) continue;
        seen[index] = true;
        unseen--;
      }
      if (unseen === 0) return true;
    }
  }
  return true;
}

/** One line's record; marks in `seen` the fields the object has. */
function readObject(
  text: string,
  fields: readonly string[],
  where: RowLocation,
  seen: boolean[],
): SourceRecord {
  let parsed: unknown;
  const nothing = () => fields.map(() => undefined);
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      values: nothing(),
      where,
      issue: lineIssue('invalid-json', where, `not valid JSON (${reason})`),
    };
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    return { values: nothing(), where, issue: lineIssue('not-an-object', where, 'not a JSON object') };
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
  if (imprecise === undefined) return { values, where };
  const issue = lineIssue(
    'imprecise-number',
    where,
    `"${imprecise}" is an integer too large to read exactly; write it as a JSON string`,
  );
  return { values, where, issue: { ...issue, field: imprecise } };
}

/**
 * The lines of a file in `encoding`, a batch per chunk read; a line break is LF, CRLF or CR. `end`
 * learns whether the last line had no line break.
 */
async function* readLineBatches(
  file: string,
  encoding: SourceEncoding,
  end: { unterminated: boolean },
  chunkBytes: number | undefined,
): AsyncGenerator<string[]> {
  let rest = '';
  try {
    for await (const chunk of decodedText(file, encoding, chunkBytes)) {
      let text = rest + chunk;
      // A CR at the end may be the first half of a CRLF split across chunks: wait for the next one.
      const heldBack = text.endsWith('\r');
      if (heldBack) text = text.slice(0, -1);
      const lines = text.split(/\r\n|\r|\n/);
      rest = (lines.pop() ?? '') + (heldBack ? '\r' : '');
      if (lines.length > 0) yield lines;
    }
  } catch (error) {
    throw sourceFileError(file, error);
  }
  if (rest.endsWith('\r')) rest = rest.slice(0, -1);
  else if (rest !== '') end.unterminated = true;
  if (rest !== '') yield [rest];
}

/** The text of `file`, chunk by chunk; invalid UTF-8 becomes U+FFFD, found where names are mapped. */
async function* decodedText(
  file: string,
  encoding: SourceEncoding,
  chunkBytes: number | undefined,
): AsyncGenerator<string> {
  const size = chunkBytes === undefined ? {} : { highWaterMark: chunkBytes };
  if (encoding === 'utf-8') {
    yield* createReadStream(file, { encoding: 'utf8', ...size }) as AsyncIterable<string>;
    return;
  }
  const decoder = new TextDecoder(encoding);
  for await (const chunk of createReadStream(file, size) as AsyncIterable<Buffer>)
    yield decoder.decode(chunk, { stream: true });
  yield decoder.decode();
}

function lineIssue(code: RowIssue['code'], where: RowLocation, reason: string): RowIssue {
  return {
    severity: 'error',
    code,
    message: `${formatRowLocation(where)}: ${reason}; the row is not exported`,
    where,
  };
}
