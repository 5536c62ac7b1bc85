import type { DataMatching } from '../config';
import { contactFieldLimits } from './contact-field-limits';
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
  readonly firstName?: string;
  /** Sent as `last_name` when present. */
  readonly lastName?: string;
  /** The destination's selected segments this profile is in. */
  readonly segments: readonly string[];
  readonly where: RowLocation;
}

/** A selected profile's raw values for the mapped fields, before normalisation. */
export interface ProfileValues {
  readonly key: string;
  readonly where: RowLocation;
  readonly segments: readonly string[];
  readonly email: string | undefined;
  readonly firstName: string | undefined;
  readonly lastName: string | undefined;
}

/**
 * Turns one selected profile into the contact to send, per the destination's `dataMatching`. Never
 * throws. An email that is missing, invalid or too long (see `normaliseEmail`) gives no contact and
 * one `error` issue. Names are normalised by `normaliseName` (over-long names are truncated, with a
 * `name-truncated` warning; control characters replaced, with a `name-control-characters` warning;
 * bytes that were not UTF-8 (U+FFFD after decoding) left out, with an `invalid-utf8` warning);
 * warnings come with the contact.
 */
export function mapContact(
  profile: ProfileValues,
  dataMatching: DataMatching,
): { readonly contact?: ExportContact; readonly issues: readonly RowIssue[] } {
  const { key, where } = profile;
  const normalised = normaliseEmail(profile.email);
  if ('problem' in normalised)
    return { issues: [emailIssue(normalised.problem, profile, dataMatching.email)] };
  const issues: RowIssue[] = [];
  const name = (raw: string | undefined, field: string | undefined, limit: number, label: string) => {
    if (field === undefined) return undefined;
    const result = normaliseName(raw, limit);
    if (!result.hadControlCharacters && !result.truncated && !result.hadInvalidBytes) return result.value;
    const at = `${formatRowLocation(where)}: ${key}`;
    if (result.hadInvalidBytes)
      issues.push({
        severity: 'warning',
        code: 'invalid-utf8',
        message: `${at}: the ${label} (${field}) has bytes that are not UTF-8; they were left out (sent as ${result.value === undefined ? 'no name' : `"${result.value}"`}): if the file is in another encoding, set the ProfileSource's encoding (e.g. encoding: latin1)`,
        where,
        key,
        field,
      });
    if (result.hadControlCharacters)
      issues.push({
        severity: 'warning',
        code: 'name-control-characters',
        message: `${at}: the ${label} (${field}) has line breaks or control characters; each run became one space`,
        where,
        key,
        field,
      });
    if (result.truncated)
      issues.push({
        severity: 'warning',
        code: 'name-truncated',
        message: `${at}: the ${label} (${field}) is longer than Constant Contact's ${limit} characters; sent as "${result.value}"`,
        where,
        key,
        field,
      });
    return result.value;
  };
  const firstName = name(
    profile.firstName,
    dataMatching.firstName,
    contactFieldLimits.first_name,
    'first name',
  );
  const lastName = name(profile.lastName, dataMatching.lastName, contactFieldLimits.last_name, 'last name');
  const contact: ExportContact = {
    key,
    email: normalised.email,
    emailKey: normalised.emailKey,
    ...(firstName === undefined ? {} : { firstName }),
    ...(lastName === undefined ? {} : { lastName }),
    segments: profile.segments,
    where,
  };
  return { contact, issues };
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
