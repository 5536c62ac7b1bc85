import { parse } from 'csv-parse/sync';

/**
 * What a destination selects from a source's two csv files, worked out without any of exportctl's
 * code: csv-parse reads the files; the rules are the documented ones (README "Running exports",
 * docs/run-engine.md "Decisions", docs/troubleshooting.md "Rows"), written again here:
 *
 * - a membership row selects its key when its segment is one of the destination's, exactly
 *   (case-sensitive, no trimming); a row with an empty key selects nothing;
 * - a profile row with more or fewer fields than the header is skipped (`column-count`), one with an
 *   empty key too (`missing-key`), and of two rows with one key only the first counts (`duplicate-key`);
 * - the email, trimmed and in NFC, must be a practical address: one `@`; a local part of at most 64
 *   characters made of atoms (letters, digits, marks, and ``!#$%&'*+/=?^_`{|}~-``) joined by single
 *   dots; a domain of at least two labels (letters, digits, marks, inner hyphens; at most 63), the
 *   last not all digits; at most 50 characters in all;
 * - one contact per email, compared lowercased: the profile with the smallest key (by code point);
 * - names as sent: trimmed, control characters with the white space around them made one space,
 *   NFC, cut to 50 characters on a grapheme boundary; empty means not sent.
 */

/** One contact a destination sends. */
export interface ExpectedContact {
  /** The email lowercased: how contacts are compared. */
  readonly emailKey: string;
  /** The winning profile's key. */
  readonly key: string;
  /** As sent; undefined when not sent (no mapping, or empty), which the oracle does not check. */
  readonly firstName: string | undefined;
  readonly lastName: string | undefined;
}

/** The destination's side of a selection. */
export interface SelectionSpec {
  readonly segments: readonly string[];
  /** Whether FirstName and LastName are mapped. */
  readonly names: boolean;
}

/** The column names the campaign's sources use. */
export const sourceColumns = {
  key: 'CustomerId',
  email: 'EmailAddress',
  firstName: 'FirstName',
  lastName: 'LastName',
  segment: 'Segment',
} as const;

const nameLimit = 50;
const emailLimit = 50;
const atom = "[\\p{L}\\p{M}\\p{N}!#$%&'*+/=?^_`{|}~-]+";
const localPart = new RegExp(`^${atom}(?:\\.${atom})*$`, 'u');
const domainLabel = /^[\p{L}\p{M}\p{N}](?:[\p{L}\p{M}\p{N}-]{0,61}[\p{L}\p{M}\p{N}])?$/u;

/** The email as sent, or undefined when it cannot be sent. */
export function sendableEmail(raw: string): string | undefined {
  const email = raw.trim().normalize('NFC');
  if (email === '' || email.length > emailLimit) return undefined;
  const parts = email.split('@');
  if (parts.length !== 2) return undefined;
  const [local, domain] = parts as [string, string];
  if (local.length === 0 || local.length > 64 || !localPart.test(local)) return undefined;
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((label) => domainLabel.test(label))) return undefined;
  if (/^\d+$/.test(labels[labels.length - 1] as string)) return undefined;
  return email;
}

const graphemes = new Intl.Segmenter('und', { granularity: 'grapheme' });

/** The name as sent, or undefined when none is sent. */
export function sentName(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const name = raw
    .trim()
    .replace(/\s*[\p{Cc}\u2028\u2029]+\s*/gu, ' ')
    .trim()
    .normalize('NFC');
  if (name === '') return undefined;
  if (name.length <= nameLimit) return name;
  let cut = '';
  for (const { segment } of graphemes.segment(name)) {
    if (cut.length + segment.length > nameLimit) break;
    cut += segment;
  }
  return cut.trimEnd();
}

/** Code point order (what SQLite's BINARY collation and UTF-8 byte order agree on). */
export function compareKeys(a: string, b: string): number {
  const x = [...a];
  const y = [...b];
  for (let index = 0; index < Math.min(x.length, y.length); index++) {
    const difference = (x[index]?.codePointAt(0) ?? 0) - (y[index]?.codePointAt(0) ?? 0);
    if (difference !== 0) return difference;
  }
  return x.length - y.length;
}

function records(csv: Buffer | string): string[][] {
  return parse(csv, { bom: true, relax_column_count: true }) as string[][];
}

function columnIndex(header: readonly string[], name: string, file: string): number {
  const index = header.indexOf(name);
  if (index < 0) throw new Error(`${file} has no column ${name}`);
  return index;
}

/**
 * The contacts a destination with `spec` selects from the two files, by email key (unsubscribed
 * contacts included: which of them the list may hold is the caller's business).
 */
export function expectedSelection(
  profiles: Buffer | string,
  membership: Buffer | string,
  spec: SelectionSpec,
): Map<string, ExpectedContact> {
  const wanted = new Set(spec.segments);
  const [membershipHeader = [], ...membershipRows] = records(membership);
  const memberKey = columnIndex(membershipHeader, sourceColumns.key, 'segment-membership.csv');
  const memberSegment = columnIndex(membershipHeader, sourceColumns.segment, 'segment-membership.csv');
  const selected = new Set<string>();
  for (const row of membershipRows) {
    if (row.length !== membershipHeader.length) continue;
    const key = row[memberKey] ?? '';
    if (key !== '' && wanted.has(row[memberSegment] ?? '')) selected.add(key);
  }

  const [header = [], ...rows] = records(profiles);
  const at = {
    key: columnIndex(header, sourceColumns.key, 'profiles.csv'),
    email: columnIndex(header, sourceColumns.email, 'profiles.csv'),
    firstName: columnIndex(header, sourceColumns.firstName, 'profiles.csv'),
    lastName: columnIndex(header, sourceColumns.lastName, 'profiles.csv'),
  };
  const seenKeys = new Set<string>();
  const contacts = new Map<string, ExpectedContact>();
  for (const row of rows) {
    if (row.length !== header.length) continue;
    const key = row[at.key] ?? '';
    if (key === '' || seenKeys.has(key)) continue;
    seenKeys.add(key);
    if (!selected.has(key)) continue;
    const email = sendableEmail(row[at.email] ?? '');
    if (email === undefined) continue;
    const contact: ExpectedContact = {
      emailKey: email.toLowerCase(),
      key,
      firstName: spec.names ? sentName(row[at.firstName]) : undefined,
      lastName: spec.names ? sentName(row[at.lastName]) : undefined,
    };
    const current = contacts.get(contact.emailKey);
    if (current === undefined || compareKeys(contact.key, current.key) < 0)
      contacts.set(contact.emailKey, contact);
  }
  return contacts;
}
