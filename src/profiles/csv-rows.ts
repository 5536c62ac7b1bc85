import type { CsvError } from 'csv-parse';
import { CsvQuotingCheck } from './csv-quoting-check';
import { type CsvFileTail, type CsvRecord, readCsvRecordBatches } from './csv-records';
import { type CsvColumns, CsvScanner, type ScanResult } from './csv-scanner';
import { noFinalLineBreakWarning, type RowIssue } from './row-issue';
import { formatRowLocation, type RowLocation } from './row-location';
import { decodedAsUtf8, type SourceEncoding } from './source-encoding';
import { SourceError } from './source-error';
import { requireFields } from './source-fields';
import {
  assertFileUnchanged,
  assertSourceFile,
  checkChunkBytes,
  reusedFileChunks,
  sourceFileError,
  statSourceFile,
} from './source-file';
import type { SourceRecord } from './source-record';

/**
 * A row's place and a row as the csv read makes them, per row by constructors: an object literal is
 * an allocation site V8 may decide, from a few hundred early rows still alive at one collection,
 * to allocate in the old generation for the rest of the process (a rerun that drew it did three
 * times the full collections; see `MappedContact` in map-contact.ts).
 */
class CsvRowLocation implements RowLocation {
  constructor(
    readonly file: string,
    readonly line: number,
  ) {}
}

class CsvRow implements SourceRecord {
  constructor(
    readonly values: readonly (string | undefined)[],
    readonly where: RowLocation,
  ) {}
}

/**
 * Streams the data rows of a csv file (RFC 4180; UTF-8 unless `options.encoding` says otherwise,
 * BOM dropped; LF, CRLF or CR). The first non-blank line is the header: its cells are the field
 * names, exactly. Blank lines are skipped. Yields `fields`' values per row with the line the row
 * starts on. A row with the wrong number of columns (`column-count`) or a quote inside an unquoted
 * field (`malformed-row`) is yielded with an `issue`: the rows around it are still told apart. The
 * last row, when the file does not end with a line break, comes with a `no-final-line-break`
 * `warning` (the file may have been cut short).
 *
 * A file that cannot be read whole is a failed read, not a row issue: rejects with
 * `source-unterminated-quote` when a quote is never closed, is closed in the wrong place, or makes
 * one record of several lines that cannot be a row (see `assertRowsApart`) — every row after it
 * would be lost or misread — and with `source-changed-while-read` when the file's size or
 * modification time, looked at before each batch is yielded and at the end, is not what it was at
 * the start. No row after the problem is yielded (the batches are held one behind), so a run that
 * sends while it reads sends none of them. Rejects before yielding anything when the file is missing or
 * unreadable (`source-file-missing`, `source-unreadable`), has no header (`source-no-header`), or
 * lacks one of `fields` (`source-field-missing`, `source-duplicate-field`).
 * Yields in batches (one per chunk of the file parsed, one batch behind): fewer awaits in hot loops.
 */
export async function* readCsvRowBatches(
  file: string,
  fields: readonly string[],
  options: CsvReadOptions = {},
): AsyncGenerator<SourceRecord[]> {
  const version = await statSourceFile(file);
  const tail: CsvFileTail = { lastByte: -1 };
  // Only the cells of `fields` are decoded once the header says where they are.
  const columns: CsvColumns = {};
  const batches = readCsvRecordBatches(file, {
    ...(options.encoding ? { encoding: options.encoding } : {}),
    tail,
    columns,
  });
  const oneLine = fields.map((field) => !options.multiLineFields?.includes(field));
  try {
    let header: readonly string[] | undefined;
    let indexes: readonly number[] = [];
    const nothing = fields.map(() => undefined);
    // The last data record read, held back by one batch so that a warning can still be added to it
    // once the file's end shows it has no line break.
    let held: SourceRecord[] | undefined;
    let previous: { readonly values: readonly string[]; readonly line: number } | undefined;
    const checkSpan = (
      record: { readonly values: readonly string[]; readonly line: number },
      nextLine: number,
    ) => {
      if (header !== undefined && nextLine - record.line > 1)
        assertRowsApart(file, record, nextLine, header, indexes, fields, oneLine);
    };
    for await (const records of batches) {
      const rows: SourceRecord[] = [];
      for (const record of records) {
        if (previous !== undefined) checkSpan(previous, record.line);
        previous = undefined;
        if (header === undefined) {
          header = headerOf(file, record);
          if (header !== undefined) {
            indexes = requireFields(header, fields, { file });
            const wanted = new Uint8Array(header.length);
            for (const index of indexes) wanted[index] = 1;
            columns.wanted = wanted;
          }
          continue;
        }
        const where = new CsvRowLocation(file, record.line);
        if (record.error !== undefined) {
          if (record.error.code !== 'INVALID_OPENING_QUOTE')
            throw brokenQuoteError(file, record.line, record.error);
          rows.push({ values: nothing, where, issue: malformedRowIssue(record.error, where) });
          continue;
        }
        const { values } = record;
        previous = record;
        if (isBlankLine(values)) continue;
        const projected = indexes.map((index) => values[index]);
        if (values.length === header.length) rows.push(new CsvRow(projected, where));
        else
          rows.push({
            values: projected,
            where,
            issue: columnCountIssue(values.length, header.length, where),
          });
      }
      if (rows.length === 0) continue;
      if (held !== undefined) {
        // Every row yielded was read from the file as it was when the read began: a run may send
        // it before the read ends (see `readAndPlan`).
        await assertFileUnchanged(file, version);
        yield held;
      }
      held = rows;
    }
    if (header === undefined) throw emptyFileError(file);
    if (previous?.values.some(hasLineBreak)) checkSpan(previous, Number.POSITIVE_INFINITY);
    await assertFileUnchanged(file, version);
    if (held !== undefined) {
      const last = held[held.length - 1];
      if (last !== undefined && last.issue === undefined && tail.lastByte !== lf && tail.lastByte !== cr)
        held[held.length - 1] = { ...last, warning: noFinalLineBreakWarning(last.where) };
      yield held;
    }
  } finally {
    await batches.return(undefined);
  }
}

/**
 * Resolves (true) when `readCsvRowBatches(file, fields, options)` will not reject part-way for what the
 * file holds (a broken quote, a record over several lines that cannot be a row: see
 * `assertRowsApart`); rejects with the SourceError that read would. One pass over the bytes
 * (`CsvQuotingCheck`: a record without a quote costs a memchr); a file it finds broken is read
 * through, so that the error is the read's own, with its line. Resolves false, reading no more,
 * once `options.signal` is aborted.
 */
export async function checkCsvReadsWhole(
  file: string,
  fields: readonly string[],
  options: CsvReadOptions & { readonly signal?: AbortSignal } = {},
): Promise<boolean> {
  const version = await statSourceFile(file);
  // The header from the check's own bytes (no second open of the file): the first non-blank record.
  const scanner = new CsvScanner();
  const beforeHeader: Buffer[] = [];
  let check: CsvQuotingCheck | undefined;
  let whole = true;
  // The check of the header's records, fed the bytes read so far.
  const begin = (header: readonly string[]): boolean => {
    const started = quotingCheckFor(file, header, fields, options.multiLineFields);
    check = started;
    return beforeHeader.splice(0).every((chunk) => started.push(chunk));
  };
  try {
    // Chunks of one reused buffer: what the check keeps of one it copies.
    for await (const chunk of decodedAsUtf8(reusedFileChunks(file, checkChunkBytes), options.encoding)) {
      if (options.signal?.aborted) return false;
      if (check !== undefined) {
        whole = check.push(chunk);
      } else {
        const kept = Buffer.from(chunk);
        beforeHeader.push(kept);
        const header = firstRecord(scanner.push(kept));
        if (header === 'malformed') whole = false;
        else if (header !== undefined) whole = begin(header);
      }
      if (!whole) break;
    }
  } catch (error) {
    // A field the header lacks is the read's own error; anything else is the file's.
    throw error instanceof SourceError ? error : sourceFileError(file, error);
  }
  if (whole && check === undefined) {
    const header = firstRecord(scanner.end());
    // No header at all: the read fails before its first row.
    if (header === undefined) return true;
    whole = header !== 'malformed' && begin(header);
  }
  if (whole && check?.end()) {
    await assertFileUnchanged(file, version);
    return true;
  }
  for await (const _rows of readCsvRowBatches(file, fields, options)) {
    // The read itself says where and why.
    if (options.signal?.aborted) return false;
  }
  return true;
}

/** The quoting check of records under `header`: a line break breaks a needed field not in `multiLine`. */
function quotingCheckFor(
  file: string,
  header: readonly string[],
  fields: readonly string[],
  multiLine: readonly string[] | undefined,
): CsvQuotingCheck {
  const oneLine = header.map(() => false);
  requireFields(header, fields, { file }).forEach((index, at) => {
    if (!multiLine?.includes(fields[at] ?? '')) oneLine[index] = true;
  });
  return new CsvQuotingCheck({ columns: header.length, oneLine });
}

/** The first non-blank record's cells among `scanned`, or 'malformed' if the scan stopped first. */
function firstRecord(scanned: ScanResult): readonly string[] | 'malformed' | undefined {
  for (const record of scanned.records) if (!isBlankLine(record.values)) return record.values;
  return scanned.malformed === undefined ? undefined : 'malformed';
}

/** How a csv file is read. */
export interface CsvReadOptions {
  /** The file's character encoding (UTF-8 by default). */
  readonly encoding?: SourceEncoding;
  /**
   * Fields whose values may run over lines (names: the mapping turns line breaks into spaces).
   * Any other asked-for field holding a line break means a quote is missing or extra: the read fails.
   */
  readonly multiLineFields?: readonly string[];
}

const lf = 0x0a;
const cr = 0x0d;

function hasLineBreak(value: string): boolean {
  return value.includes('\n') || value.includes('\r');
}

/**
 * A record that runs over several lines (from `record.line` to before `nextLine`) is trusted only
 * when it has the header's column count and its line breaks are in fields that may hold them: a
 * stray quote that another stray quote closes makes one record of every row between the two, and
 * reporting that as one bad row would lose the rows between silently (and a removal run would then
 * remove them). Throws `source-unterminated-quote` otherwise.
 */
function assertRowsApart(
  file: string,
  record: { readonly values: readonly string[]; readonly line: number },
  nextLine: number,
  header: readonly string[],
  indexes: readonly number[],
  fields: readonly string[],
  oneLine: readonly boolean[],
): void {
  const until = Number.isFinite(nextLine) ? `line ${nextLine - 1}` : 'the end of the file';
  const broken = indexes.findIndex((index, at) => oneLine[at] && hasLineBreak(record.values[index] ?? ''));
  if (record.values.length === header.length && broken === -1) return;
  const what =
    broken === -1
      ? `a quoted field opened there runs to ${until}, and the row it makes has ${record.values.length} columns, the header ${header.length}`
      : `the quoted ${fields[broken]} opened there runs over several lines (to ${until})`;
  throw new SourceError(
    'source-unterminated-quote',
    `${formatRowLocation({ file, line: record.line })}: ${what}: a quote is missing or extra, and the rows it covers cannot be told apart; nothing was read past it, and no row from it on was sent`,
    {
      context: { file, line: record.line },
      hint: 'fix the quoting on that line (quote a whole field, and double a quote inside it: ""), then run again',
    },
  );
}

function brokenQuoteError(file: string, line: number, error: CsvError): SourceError {
  const what =
    error.code === 'CSV_QUOTE_NOT_CLOSED'
      ? 'a quote opened on this line is never closed'
      : 'a quoted field is closed and followed by other characters before the next comma or line end';
  return new SourceError(
    'source-unterminated-quote',
    `${formatRowLocation({ file, line })}: ${what}, so the rows after it cannot be told apart: the file cannot be read whole; no row from it on was sent`,
    {
      cause: error,
      context: { file, line },
      hint: 'fix the quoting on that line (quote a whole field, and double a quote inside it: ""), then run again',
    },
  );
}

/**
 * The header of a csv file (its first non-blank record), reading nothing past the chunk that holds
 * it. Rejects with a SourceError like `readCsvRowBatches`.
 */
export async function readCsvHeader(
  file: string,
  options: { readonly encoding?: SourceEncoding } = {},
): Promise<readonly string[]> {
  await assertSourceFile(file);
  for await (const records of readCsvRecordBatches(file, options)) {
    for (const record of records) {
      const header = headerOf(file, record);
      if (header !== undefined) return header;
    }
  }
  throw emptyFileError(file);
}

/** The header, if `record` (a record before the header) is it; undefined for a blank line. */
function headerOf(file: string, record: CsvRecord): readonly string[] | undefined {
  if (record.error !== undefined)
    throw new SourceError(
      'source-no-header',
      `${file}: the header line (line ${record.line}) does not parse: ${record.error.message}`,
      { context: { file, line: record.line }, hint: 'the first line must name the columns, comma-separated' },
    );
  return isBlankLine(record.values) ? undefined : record.values;
}

function emptyFileError(file: string): SourceError {
  return new SourceError('source-no-header', `${file} is empty: it has no header line`, {
    context: { file },
    hint: 'the first line must name the columns, comma-separated',
  });
}

function isBlankLine(values: readonly string[]): boolean {
  return values.length === 1 && values[0] === '';
}

function columnCountIssue(
  columns: number,
  expected: number,
  where: { file: string; line: number },
): RowIssue {
  return {
    severity: 'error',
    code: 'column-count',
    message: `${formatRowLocation(where)}: the row has ${columns} columns, the header ${expected}; it is not exported`,
    where,
  };
}

function malformedRowIssue(error: CsvError, where: { file: string; line: number }): RowIssue {
  const reasons: Partial<Record<CsvError['code'], string>> = {
    CSV_INVALID_CLOSING_QUOTE:
      'a quoted field is followed by other characters before the next comma or line end',
    CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE:
      'a quoted field is followed by other characters before the next comma or line end',
    INVALID_OPENING_QUOTE:
      'a quote inside an unquoted field (quote the whole field and double the quote: "")',
  };
  const reason = reasons[error.code] ?? error.message;
  return {
    severity: 'error',
    code: 'malformed-row',
    message: `${formatRowLocation(where)}: ${reason}; the row is not exported`,
    where,
  };
}
