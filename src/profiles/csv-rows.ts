import type { CsvError } from 'csv-parse';
import { type CsvRecord, readCsvRecords } from './csv-records';
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
 * run over lines, so nothing after it can be told apart).
 *
 * Rejects with a SourceError, before yielding anything, when the file is missing or unreadable
 * (`source-file-missing`, `source-unreadable`), has no header (`source-no-header`), or lacks one of
 * `fields` (`source-field-missing`, `source-duplicate-field`).
 */
export async function* readCsvRows(file: string, fields: readonly string[]): AsyncGenerator<SourceRecord> {
  await assertSourceFile(file);
  const records = readCsvRecords(file);
  try {
    const header = await readHeader(file, records);
    const indexes = requireFields(header, fields, { file });
    const nothing = fields.map(() => undefined);
    for await (const record of records) {
      const where = { file, line: record.line };
      if (record.error !== undefined) {
        yield { values: nothing, where, issue: malformedRowIssue(record.error, where) };
        continue;
      }
      const { values } = record;
      if (isBlankLine(values)) continue;
      const projected = indexes.map((index) => values[index]);
      if (values.length !== header.length) {
        const issue: RowIssue = {
          severity: 'error',
          code: 'column-count',
          message: `${formatRowLocation(where)}: the row has ${values.length} columns, the header ${header.length}; it is not exported`,
          where,
        };
        yield { values: projected, where, issue };
        continue;
      }
      yield { values: projected, where };
    }
  } finally {
    await records.return(undefined);
  }
}

/**
 * The header of a csv file (its first non-blank record), reading nothing past it. Rejects with a
 * SourceError like `readCsvRows`.
 */
export async function readCsvHeader(file: string): Promise<readonly string[]> {
  await assertSourceFile(file);
  const records = readCsvRecords(file);
  try {
    return await readHeader(file, records);
  } finally {
    await records.return(undefined);
  }
}

async function readHeader(file: string, records: AsyncIterator<CsvRecord>): Promise<readonly string[]> {
  for (let next = await records.next(); !next.done; next = await records.next()) {
    const record = next.value;
    if (record.error !== undefined)
      throw new SourceError(
        'source-no-header',
        `${file}: the header line (line ${record.line}) does not parse: ${record.error.message}`,
        {
          context: { file, line: record.line },
          hint: 'the first line must name the columns, comma-separated',
        },
      );
    if (!isBlankLine(record.values)) return record.values;
  }
  throw new SourceError('source-no-header', `${file} is empty: it has no header line`, {
    context: { file },
    hint: 'the first line must name the columns, comma-separated',
  });
}

function isBlankLine(values: readonly string[]): boolean {
  return values.length === 1 && values[0] === '';
}

function malformedRowIssue(error: CsvError, where: { file: string; line: number }): RowIssue {
  const at = formatRowLocation(where);
  const reasons: Partial<Record<CsvError['code'], string>> = {
    CSV_INVALID_CLOSING_QUOTE:
      'a quoted field is followed by other characters before the next comma or line end',
    INVALID_OPENING_QUOTE:
      'a quote inside an unquoted field (quote the whole field and double the quote: "")',
    CSV_QUOTE_NOT_CLOSED: 'a quote opened here is never closed, so the rest of the file cannot be read',
    CSV_NON_TRIMABLE_CHAR_AFTER_CLOSING_QUOTE:
      'a quoted field is followed by other characters before the next comma or line end',
  };
  const reason = reasons[error.code] ?? error.message;
  return {
    severity: 'error',
    code: 'malformed-row',
    message: `${at}: ${reason}; the row is not exported`,
    where,
  };
}
