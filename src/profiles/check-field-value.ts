import type { ContactFieldKind } from './contact-fields';
import { normaliseName } from './contact-name';

/** What a value needed, or why it was left out. */
export type FieldValueNote =
  | 'truncated'
  | 'control-characters'
  | 'invalid-bytes'
  | 'too-long'
  | 'no-digit'
  | 'not-a-month'
  | 'not-a-day'
  | 'not-a-date';

/** A mapped value as it is sent (undefined: not sent) and what was done to it. */
export interface CheckedFieldValue {
  readonly value: string | number | undefined;
  /** Notes on a value that was changed (truncated…) or left out (too-long, not-a-date…). */
  readonly notes: readonly FieldValueNote[];
}

const none: CheckedFieldValue = { value: undefined, notes: [] };

/**
 * Checks one mapped value for Constant Contact (see `ContactFieldKind`). Never throws. An empty or
 * absent value is not sent and has no note. Text is normalised as names are (`normaliseName`) and
 * truncated to `maxLength`; a phone, month, day or date that does not fit is left out with a note,
 * never altered into another value.
 */
export function checkFieldValue(
  raw: string | undefined,
  kind: ContactFieldKind,
  maxLength: number | undefined,
): CheckedFieldValue {
  if (raw === undefined) return none;
  switch (kind) {
    case 'text':
      return checkText(raw, maxLength ?? Number.MAX_SAFE_INTEGER);
    case 'phone':
      return checkPhone(raw, maxLength ?? Number.MAX_SAFE_INTEGER);
    case 'month':
      return checkInteger(raw, 12, 'not-a-month');
    case 'day':
      return checkInteger(raw, 31, 'not-a-day');
    case 'date':
      return checkDate(raw);
  }
}

function checkText(raw: string, maxLength: number): CheckedFieldValue {
  const result = normaliseName(raw, maxLength);
  const notes: FieldValueNote[] = [];
  if (result.hadInvalidBytes) notes.push('invalid-bytes');
  if (result.hadControlCharacters) notes.push('control-characters');
  if (result.truncated) notes.push('truncated');
  return { value: result.value, notes };
}

function checkPhone(raw: string, maxLength: number): CheckedFieldValue {
  const result = normaliseName(raw, Number.MAX_SAFE_INTEGER);
  if (result.value === undefined) return none;
  if (result.value.length > maxLength) return { value: undefined, notes: ['too-long'] };
  if (!/\d/.test(result.value)) return { value: undefined, notes: ['no-digit'] };
  return { value: result.value, notes: result.hadControlCharacters ? ['control-characters'] : [] };
}

function checkInteger(raw: string, max: number, note: FieldValueNote): CheckedFieldValue {
  const text = raw.trim();
  if (text === '') return none;
  // "3" or "03" (a csv cell), or "3.0" (a float column of a database).
  const match = /^0*(\d{1,2})(?:\.0+)?$/.exec(text);
  const number = match ? Number(match[1]) : Number.NaN;
  if (!Number.isInteger(number) || number < 1 || number > max) return { value: undefined, notes: [note] };
  return { value: number, notes: [] };
}

/**
 * The date forms Constant Contact's import takes (MM/DD/YYYY, M/D/YYYY, YYYY/MM/DD, YYYY/M/D,
 * YYYY-MM-DD, YYYY-M-D, M-D-YYYY, M-DD-YYYY), and ISO 8601 date-times (the date part is kept, as
 * written: no time zone shift). Sent as YYYY-MM-DD, one form whatever the source held, so that the
 * fingerprint does not change when only the spelling of a date does.
 */
function checkDate(raw: string): CheckedFieldValue {
  const text = raw.trim();
  if (text === '') return none;
  const yearFirst =
    /^(\d{4})([-/])(\d{1,2})\2(\d{1,2})(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/.exec(
      text,
    );
  const monthFirst = /^(\d{1,2})([-/])(\d{1,2})\2(\d{4})$/.exec(text);
  let year: number;
  let month: number;
  let day: number;
  if (yearFirst) [year, month, day] = [Number(yearFirst[1]), Number(yearFirst[3]), Number(yearFirst[4])];
  else if (monthFirst)
    [year, month, day] = [Number(monthFirst[4]), Number(monthFirst[1]), Number(monthFirst[3])];
  else return { value: undefined, notes: ['not-a-date'] };
  const date = new Date(Date.UTC(year, month - 1, day));
  if (
    year < 1 ||
    date.getUTCFullYear() !== year ||
    date.getUTCMonth() !== month - 1 ||
    date.getUTCDate() !== day
  )
    return { value: undefined, notes: ['not-a-date'] };
  const pad = (value: number, width: number) => String(value).padStart(width, '0');
  return { value: `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`, notes: [] };
}
