import { formatRowLocation, type RowLocation } from './row-location';

/**
 * Every kind of row issue, with a stable code. The run record and its CSV carry these codes; tests
 * assert on them, never on message text.
 */
export const rowIssueCodes = {
  'malformed-row': 'csv: the row does not parse (a quote opened or closed in the wrong place)',
  'column-count': 'csv: the row has more or fewer columns than the header',
  'invalid-json': 'jsonl: the line is not valid JSON',
  'not-an-object': 'jsonl: the line is JSON but not an object',
  'imprecise-number':
    'jsonl: a needed field is an integer too large to be read exactly; quote it as a string',
  'missing-key': 'the row has no value in the key field',
  'duplicate-key': 'a second profile row with a key already read; the first one is exported',
  'missing-email': 'the profile has no email address',
  'invalid-email': 'the email address is not a usable address',
  'email-too-long': 'the email address is longer than Constant Contact accepts',
  'name-truncated': 'warning: a name longer than Constant Contact accepts was shortened',
  'name-control-characters': 'warning: line breaks or control characters in a name were replaced by a space',
  'invalid-utf8':
    'warning: bytes that are not UTF-8 in a mapped name or field were left out (set the source encoding)',
  'field-truncated': 'warning: a mapped field longer than Constant Contact accepts was shortened',
  'field-control-characters':
    'warning: line breaks or control characters in a mapped field were replaced by a space',
  'field-invalid':
    'warning: a mapped field has a value Constant Contact does not accept (a month, day, date or phone); it is not sent, the contact is',
  'no-final-line-break':
    "warning: the file's last line has no line break: the file may have been cut short (check that row)",
  'duplicate-email': 'warning: another selected profile has the same email; that one is exported',
} as const;

export type RowIssueCode = keyof typeof rowIssueCodes;

/**
 * One row that was not exported (`error`) or was exported with a change or under another row
 * (`warning`), as data. Row issues never stop a run: the engine lists them in the run record.
 */
export interface RowIssue {
  readonly severity: 'error' | 'warning';
  readonly code: RowIssueCode;
  /** What is wrong and what was done about it; names the field and the location. */
  readonly message: string;
  readonly where: RowLocation;
  /** The profile key, when the row got far enough to have one. */
  readonly key?: string;
  /** The source field (column) the issue is about. */
  readonly field?: string;
  /** The offending value (an email address), when showing it helps fix the data. */
  readonly value?: string;
  /** duplicate-email: the key of the profile exported instead. */
  readonly keptKey?: string;
}

/** Receives row issues as a read finds them (the engine writes them out; tests collect them). */
export type RowIssueSink = (issue: RowIssue) => void;

/**
 * The warning for a file whose last line has no line break: that row is exported as it reads, but
 * the file may have been cut short inside it (an interrupted copy or upload).
 */
export function noFinalLineBreakWarning(where: RowLocation): RowIssue {
  return {
    severity: 'warning',
    code: 'no-final-line-break',
    message: `${formatRowLocation(where)}: the file's last line has no line break: the file may have been cut short (an interrupted copy or upload); the row is exported as it reads, check it`,
    where,
  };
}
