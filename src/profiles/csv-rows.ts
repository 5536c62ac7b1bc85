import type { CsvError } from 'csv-parse';
import { type CsvRecord, readCsvRecordBatches } from './csv-records';
import type { RowIssue } from './row-issue';
import { formatRowLocation } from './row-location';
import { SourceError } from './source-error';
import { requireFields } from './source-fields';
import { assertSourceFile } from './source-file';
import type { SourceRecord } from './source-record';

/**
 * Streams the data rows of a csv file (RFC 4180; UTF-8, BOM dropped; LF, CRLF or CR). The first
 * non-blank line is the header: its cells are the field names, exactly. Blank lines are skipped.
 * Yields `fields`' values per row with the line the row starts on. A row with the wrong number of
 * columns (`column-count`) or a quoting error (`malformed-row`) is yielded with an `issue`; a
 * quote that is never closed makes the rest of the file one such row (RFC 4180 lets a quoted field
 * run over lines, so nothing after it can be told apart), and after a quote closed in the wrong
 * place the parser may take the next row for part of the broken one.
 *
 * Rejects with a SourceError, before yielding anything, when the file is missing or unreadable
 * (`source-file-missing`, `source-unreadable`), has no header (`source-no-header`), or lacks one of
 * `fields` (`source-field-missing`, `source-duplicate-field`).
 * Yields in batches (one per chunk of the file parsed): fewer awaits in hot loops.
 */
export async function* readCsvRowBatches(
  file: string,
  fields: readonly string[],
): AsyncGenerator<SourceRecord[]> {
  await assertSourceFile(file);
  const batches = readCsvRecordBatches(file);
  try {
    let header: readonly string[] | undefined;
    let indexes: readonly number[] = [];
    const nothing = fields.map(() => undefined);
    for await (const records of batches) {
      const rows: SourceRecord[] = [];
      for (const record of records) {
        if (header === undefined) {
          header = headerOf(file, record);
          if (header !== undefined) indexes = requireFields(header, fields, { file });
          continue;
        }
        const where = { file, line: record.line };
        if (record.error !== undefined) {
          rows.push({ values: nothing, where, issue: malformedRowIssue(record.error, where) });
          continue;
        }
        const { values } = record;
        if (isBlankLine(values)) continue;
        const projected = indexes.map((index) => values[index]);
        if (values.length === header.length) rows.push({ values: projected, where });
        else
          rows.push({
            values: projected,
            where,
            issue: columnCountIssue(values.length, header.length, where),
          });
      }
      if (rows.length > 0) yield rows;
    }
    if (header === undefined) throw emptyFileError(file);
  } finally {
    await batches.return(undefined);
  }
}

/**
 * The header of a csv file (its first non-blank record), reading nothing past the chunk that holds
 * it. Rejects with a SourceError like `readCsvRowBatches`.
 */
export async function readCsvHeader(file: string): Promise<readonly string[]> {
  await assertSourceFile(file);
  for await (const records of readCsvRecordBatches(file)) {
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
    CSV_QUOTE_NOT_CLOSED: 'a quote opened here is never closed, so the rest of the file cannot be read',
  };
  const reason = reasons[error.code] ?? error.message;
  return {
    severity: 'error',
    code: 'malformed-row',
    message: `${formatRowLocation(where)}: ${reason}; the row is not exported`,
    where,
  };
}
