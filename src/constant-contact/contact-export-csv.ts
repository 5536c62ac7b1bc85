import { parse } from 'csv-parse/sync';
import { ConstantContactError } from './constant-contact-errors';

/** A list member as the bulk mappings see it: enough to remove it from the list. */
export interface ListMember {
  readonly contactId: string;
  /** As Constant Contact holds it (it keeps the case it was given). */
  readonly email: string;
  /** When the export was asked for names and the file has the column ('' when the contact has none). */
  readonly firstName?: string;
  readonly lastName?: string;
}

/** Header names, lower-cased with everything but letters removed, that hold each column. */
const contactIdHeaders = new Set(['contactid', 'id']);
const emailHeaders = new Set(['emailaddress', 'email']);
const firstNameHeaders = new Set(['firstname']);
const lastNameHeaders = new Set(['lastname']);

function headerKey(header: string): string {
  return header.toLowerCase().replace(/[^a-z]/g, '');
}

/**
 * Reads the CSV file of a contact export (`GET /contact_exports/{file_export_id}`): a header row, then
 * one contact per row (RFC 4180 quoting). The columns are found by name, in either spelling Constant
 * Contact uses (`contact_id` / `Contact Id`, `email_address` / `Email address` / `Email`, `first_name` /
 * `First name`, likewise last); rows without an email (SMS-only contacts) are skipped. Names are read
 * when the file has their columns. Throws `unexpected-response` without the ID and email columns.
 */
export function parseContactExportCsv(csv: string): ListMember[] {
  const rows = parse(csv, { bom: true, skip_empty_lines: true, relax_column_count: true }) as string[][];
  const header = rows[0];
  if (!header) return [];
  const keys = header.map(headerKey);
  const idColumn = keys.findIndex((key) => contactIdHeaders.has(key));
  const emailColumn = keys.findIndex((key) => emailHeaders.has(key));
  const firstNameColumn = keys.findIndex((key) => firstNameHeaders.has(key));
  const lastNameColumn = keys.findIndex((key) => lastNameHeaders.has(key));
  if (idColumn < 0 || emailColumn < 0) {
    throw new ConstantContactError(
      'unexpected-response',
      `The contact export file has no ${idColumn < 0 ? 'contact ID' : 'email'} column (columns: ${header.join(', ')})`,
    );
  }
  const members: ListMember[] = [];
  for (let index = 1; index < rows.length; index++) {
    const row = rows[index] as string[];
    const contactId = row[idColumn];
    const email = row[emailColumn];
    if (!contactId || !email) continue;
    const member: { contactId: string; email: string; firstName?: string; lastName?: string } = {
      contactId,
      email,
    };
    if (firstNameColumn >= 0) member.firstName = row[firstNameColumn] ?? '';
    if (lastNameColumn >= 0) member.lastName = row[lastNameColumn] ?? '';
    members.push(member);
  }
  return members;
}
