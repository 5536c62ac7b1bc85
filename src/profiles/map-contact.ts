import type { DataMatching } from '../config';
import { type CheckedFieldValue, checkFieldValue, type FieldValueNote } from './check-field-value';
import { contactFieldLimits } from './contact-field-limits';
import type { MappedContactField } from './contact-fields';
import { normaliseName } from './contact-name';
import { type EmailProblem, normaliseEmail } from './email-address';
import type { RowIssue } from './row-issue';
import { formatRowLocation, type RowLocation } from './row-location';

/** One profile as it is exported to Constant Contact: the fields sent, and where it came from. */
export interface ExportContact {
  /** The profile's key (the source's `key` field). */
  readonly key: string;
  /** Sent as `email`: trimmed, NFC, case as in the source. */
  readonly email: string;
  /** `email` lowercased: the contact's identity for dedupe, snapshots and diffs. */
  readonly emailKey: string;
  /** Sent as `first_name` when present. */
  readonly firstName?: string | undefined;
  /** Sent as `last_name` when present. */
  readonly lastName?: string | undefined;
  /**
   * Every other mapped field (`mappedContactFields`), in the mapping's order, as sent: a value, or
   * undefined when the profile has none (or a value Constant Contact would not take). Absent when
   * the destination maps no field beyond email and names. Part of the fingerprint, names included:
   * mapping another field changes every contact's.
   */
  readonly fields?: readonly ContactFieldValue[] | undefined;
  /** The destination's selected segments this profile is in. */
  readonly segments: readonly string[];
  readonly where: RowLocation;
}

/** One mapped field of a contact: the JSON import property, and the value sent (undefined: none). */
export type ContactFieldValue = readonly [name: string, value: string | number | undefined];

/** A selected profile's raw values for the mapped fields, before normalisation. */
export interface ProfileValues {
  readonly key: string;
  readonly where: RowLocation;
  readonly segments: readonly string[];
  readonly email: string | undefined;
  readonly firstName: string | undefined;
  readonly lastName: string | undefined;
  /** The raw values of `fields`, in their order (empty or absent when none are mapped). */
  readonly fieldValues?: readonly (string | undefined)[];
}

/**
 * Turns one selected profile into the contact to send, per the destination's `dataMatching`. Never
 * throws. An email that is missing, invalid or too long (see `normaliseEmail`) gives no contact and
 * one `error` issue. Names are normalised by `normaliseName` (over-long names are truncated, with a
 * `name-truncated` warning; control characters replaced, with a `name-control-characters` warning;
 * bytes that were not UTF-8 (U+FFFD after decoding) left out, with an `invalid-utf8` warning);
 * warnings come with the contact. Each other mapped field (`fields`, with `profile.fieldValues`)
 * is checked by `checkFieldValue`: text is truncated (`field-truncated`), a value Constant Contact
 * would refuse is left out (`field-invalid`); the contact is exported either way. A birthday is sent
 * whole or not at all: Constant Contact needs the month and the day together.
 */
export function mapContact(
  profile: ProfileValues,
  dataMatching: DataMatching,
  fields: readonly MappedContactField[] = [],
): { readonly contact?: ExportContact; readonly issues: readonly RowIssue[] } {
  const normalised = normaliseEmail(profile.email);
  if ('problem' in normalised)
    return { issues: [emailIssue(normalised.problem, profile, dataMatching.email)] };
  // Allocated only for a profile that has issues (a million rows pass: most have none).
  let issues: RowIssue[] | undefined;
  const report = (issue: RowIssue) => {
    issues ??= [];
    issues.push(issue);
  };
  const firstName = checkedName(
    profile,
    profile.firstName,
    dataMatching.firstName,
    contactFieldLimits.first_name,
    'first name',
    report,
  );
  const lastName = checkedName(
    profile,
    profile.lastName,
    dataMatching.lastName,
    contactFieldLimits.last_name,
    'last name',
    report,
  );
  const values = fields.length === 0 ? undefined : fieldValues(profile, fields, report);
  const contact = new MappedContact(
    profile.key,
    normalised.email,
    normalised.emailKey,
    firstName,
    lastName,
    values,
    profile.segments,
    profile.where,
  );
  return { contact, issues: issues ?? noIssues };
}

/**
 * A contact as `mapContact` makes it: one shape for every contact (absent names and fields are
 * undefined properties, which nothing tells from missing ones), so the engine's per-contact code
 * reads one kind of object.
 *
 * Made by a constructor, not an object literal, so that it is always allocated in the young
 * generation. V8 decides once per object literal whether to allocate its objects straight in the
 * old generation (allocation-site pretenuring), from how many of those the not yet optimized code
 * made were still alive at a GC: for contacts, the first few hundred of a read, all still in
 * their batch when a GC lands early in the profile pass (as the full GCs the whole-file check
 * causes there do). The decision then holds for the process: a 1%-change rerun of a million
 * profiles that drew it had every contact tenured and dying in the old generation, 45 full GCs
 * instead of 27. Objects a constructor makes carry no allocation site and are never pretenured.
 */
class MappedContact implements ExportContact {
  constructor(
    readonly key: string,
    readonly email: string,
    readonly emailKey: string,
    readonly firstName: string | undefined,
    readonly lastName: string | undefined,
    readonly fields: readonly ContactFieldValue[] | undefined,
    readonly segments: readonly string[],
    readonly where: RowLocation,
  ) {}
}

const noIssues: readonly RowIssue[] = Object.freeze([]);

/** A name as sent (`normaliseName`), each change to it reported; undefined when the name is not mapped. */
function checkedName(
  profile: ProfileValues,
  raw: string | undefined,
  field: string | undefined,
  limit: number,
  label: string,
  report: (issue: RowIssue) => void,
): string | undefined {
  if (field === undefined) return undefined;
  const result = normaliseName(raw, limit);
  if (!result.hadControlCharacters && !result.truncated && !result.hadInvalidBytes) return result.value;
  const { key, where } = profile;
  const at = `${formatRowLocation(where)}: ${key}`;
  if (result.hadInvalidBytes)
    report({
      severity: 'warning',
      code: 'invalid-utf8',
      message: `${at}: the ${label} (${field}) has bytes that are not UTF-8; they were left out (sent as ${result.value === undefined ? 'no name' : `"${result.value}"`}): if the file is in another encoding, set the ProfileSource's encoding (e.g. encoding: latin1)`,
      where,
      key,
      field,
    });
  if (result.hadControlCharacters)
    report({
      severity: 'warning',
      code: 'name-control-characters',
      message: `${at}: the ${label} (${field}) has line breaks or control characters; each run became one space`,
      where,
      key,
      field,
    });
  if (result.truncated)
    report({
      severity: 'warning',
      code: 'name-truncated',
      message: `${at}: the ${label} (${field}) is longer than Constant Contact's ${limit} characters; sent as "${result.value}"`,
      where,
      key,
      field,
    });
  return result.value;
}

function emailIssue(problem: EmailProblem, profile: ProfileValues, field: string): RowIssue {
  const { key, where } = profile;
  const value = profile.email?.trim() ?? '';
  const reasons: Record<EmailProblem, string> = {
    'missing-email': `has no email address (${field} is empty)`,
    'invalid-email': `has an email address that is not valid: "${value}"`,
    'email-too-long': `has an email address longer than Constant Contact's ${contactFieldLimits.email} characters: "${value}"`,
  };
  return {
    severity: 'error',
    code: problem,
    message: `${formatRowLocation(where)}: ${key} ${reasons[problem]}; the profile is not exported`,
    where,
    key,
    field,
    ...(problem === 'missing-email' ? {} : { value }),
  };
}

const fieldNoteText: Record<FieldValueNote, string> = {
  truncated: 'is longer than Constant Contact accepts',
  'control-characters': 'has line breaks or control characters; each run became one space',
  'invalid-bytes': 'has bytes that are not UTF-8; they were left out (set the ProfileSource encoding)',
  'too-long':
    'is longer than Constant Contact accepts for a phone number; it is not sent (a cut number reaches someone else)',
  'no-digit': 'has no digit, which a phone number needs; it is not sent',
  'not-a-month': 'is not a month (1 to 12); it is not sent',
  'not-a-day': 'is not a day of the month (1 to 31); it is not sent',
  'not-a-date':
    'is not a date Constant Contact accepts (YYYY-MM-DD, MM/DD/YYYY, an ISO date-time…); it is not sent',
};

const fieldNoteCode = {
  truncated: 'field-truncated',
  'control-characters': 'field-control-characters',
  'invalid-bytes': 'invalid-utf8',
  'too-long': 'field-invalid',
  'no-digit': 'field-invalid',
  'not-a-month': 'field-invalid',
  'not-a-day': 'field-invalid',
  'not-a-date': 'field-invalid',
} as const satisfies Record<FieldValueNote, RowIssue['code']>;

/** The checked values of the mapped fields, each issue reported (to `report`). */
function fieldValues(
  profile: ProfileValues,
  fields: readonly MappedContactField[],
  report: (issue: RowIssue) => void,
): ContactFieldValue[] {
  const { key, where } = profile;
  const checked: CheckedFieldValue[] = fields.map((field, index) =>
    checkFieldValue(profile.fieldValues?.[index], field.kind, field.maxLength),
  );
  const values: ContactFieldValue[] = fields.map((field, index) => [
    field.name,
    (checked[index] as CheckedFieldValue).value,
  ]);
  fields.forEach((field, index) => {
    const result = checked[index] as CheckedFieldValue;
    const raw = profile.fieldValues?.[index]?.trim() ?? '';
    for (const note of result.notes) {
      const sent = note === 'truncated' ? `; sent as "${String(result.value)}"` : '';
      report({
        severity: 'warning',
        code: fieldNoteCode[note],
        message: `${formatRowLocation(where)}: ${key}: the ${field.name} (${field.column}) "${raw}" ${fieldNoteText[note]}${sent}`,
        where,
        key,
        field: field.column,
        value: raw,
      });
    }
  });
  // Constant Contact takes a birthday only whole: one half alone is not sent.
  const month = values.findIndex(([name]) => name === 'birthday_month');
  const day = values.findIndex(([name]) => name === 'birthday_day');
  if (month >= 0 && day >= 0) {
    const monthValue = (values[month] as ContactFieldValue)[1];
    const dayValue = (values[day] as ContactFieldValue)[1];
    if ((monthValue === undefined) !== (dayValue === undefined)) {
      const kept = monthValue === undefined ? day : month;
      const missing = fields[monthValue === undefined ? month : day] as MappedContactField;
      const present = fields[kept] as MappedContactField;
      report({
        severity: 'warning',
        code: 'field-invalid',
        message: `${formatRowLocation(where)}: ${key}: the birthday has a ${present.name} (${present.column}) but no usable ${missing.name} (${missing.column}); Constant Contact needs both, so neither is sent`,
        where,
        key,
        field: present.column,
      });
      values[kept] = [present.name, undefined];
    }
  }
  return values;
}
