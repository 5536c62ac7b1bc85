import { ExportctlError } from '../errors';

/**
 * Every way a profile source can be unusable as a whole, with a stable code. A `SourceError` carries
 * one of them; `checkSourceReadable` reports them as data. Bad *rows* are never one of these: they
 * are `RowIssue`s and never stop a read.
 */
export const sourceErrorCodes = {
  'source-file-missing': 'a source file (csv, jsonl, or the sqlite database) does not exist',
  'source-unreadable':
    'a source file cannot be opened or read, or is not a database; a postgres database does not answer or refuses the login',
  'source-no-header': 'a csv file has no header line (it is empty, or its first line does not parse)',
  'source-duplicate-field': 'a field the export needs is the name of two columns',
  'source-field-missing': 'a field the export needs (key, segment, or a mapped field) is not in the source',
  'source-table-missing':
    'a sqlite or postgres table or view named as profiles or segmentMembership does not exist',
  'source-query-invalid': 'a sqlite or postgres query does not compile, returns no rows, or would write',
  'source-unterminated-quote':
    'a csv file has a quote that is never closed, or one that makes rows impossible to tell apart: the file cannot be read whole',
  'source-changed-while-read': 'a source file changed (size or modification time) while it was read',
  'source-location-unknown':
    'an applied ProfileSource has relative paths but the state does not record the folder they start from',
  'source-too-many-segments': 'a destination selects more segments than a membership bitmask can hold',
} as const;

export type SourceErrorCode = keyof typeof sourceErrorCodes;

/**
 * A profile source that cannot be read at all: a configuration or file problem that stops the read
 * before (or, for jsonl fields, at the end of) streaming. `context.file` names the file or database.
 */
export class SourceError extends ExportctlError<SourceErrorCode> {}
