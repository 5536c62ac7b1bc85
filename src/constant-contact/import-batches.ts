import { ConstantContactError } from './constant-contact-errors';
import type { ContactsJsonImport } from './swagger-types.generated';

/**
 * One contact to import, in Constant Contact's field names (JsonImportContact). The contract allows
 * 50 characters per name in this endpoint: the engine shortens names (and checks every other
 * field against its limit) before they get here.
 */
export interface ImportContact {
  readonly email: string;
  readonly first_name?: string | undefined;
  readonly last_name?: string | undefined;
  /**
   * Every other field sent, in order: a JsonImportContact property (`company_name`,
   * `birthday_month`, `cf:<custom field name>`) and its value, already checked against the
   * contract's limits; an undefined value is not sent (the import leaves that field alone).
   */
  readonly fields?: readonly (readonly [name: string, value: string | number | undefined])[] | undefined;
}

/** The bounds of one `POST /activities/contacts_json_import` (API-NOTES.md "Bulk import"). */
export interface ImportBatchLimits {
  /** Most contacts in one request. */
  readonly maxContacts: number;
  /** The serialized body (UTF-8 bytes of the exact JSON sent) must stay strictly below this. */
  readonly maxBodyBytes: number;
}

export const importBatchLimits = {
  maxContacts: 40_000,
  // CC drops, silently, whatever lies past 4 MB; staying under 4,000,000 bytes keeps every contact
  // clear of that mark whichever way "MB" is counted.
  maxBodyBytes: 4_000_000,
} as const satisfies ImportBatchLimits;

/** Contacts that go into one import request, and the size of the body that carries them. */
export interface ImportBatch<C = ImportContact> {
  /** The input's contacts, as given (importBody keeps only CC's fields of each). */
  readonly contacts: readonly C[];
  /** Position of the batch's first contact in the input (0-based). */
  readonly firstIndex: number;
  /** UTF-8 bytes of `JSON.stringify(importBody(contacts, listIds))`. */
  readonly bodyBytes: number;
}

type ImportEntry = { email: string; first_name?: string; last_name?: string; [field: string]: unknown };

/** The contact as sent: only CC's fields, always in the same order, absent ones left out. */
function importEntry(contact: ImportContact): ImportEntry {
  const entry: ImportEntry = { email: contact.email };
  if (contact.first_name !== undefined) entry.first_name = contact.first_name;
  if (contact.last_name !== undefined) entry.last_name = contact.last_name;
  for (const [name, value] of contact.fields ?? []) if (value !== undefined) entry[name] = value;
  return entry;
}

/**
 * UTF-8 bytes of `JSON.stringify(importEntry(contact))`, field by field: `{"email":` + value, then
 * `,"first_name":` + value and `,"last_name":` + value when present, then `,"<name>":` + value for
 * each other field sent, then `}`. Measuring the strings alone is about twice as fast as building
 * and serializing the entry.
 */
function entryBytes(contact: ImportContact): number {
  let bytes = 10 + Buffer.byteLength(JSON.stringify(contact.email));
  if (contact.first_name !== undefined) bytes += 14 + Buffer.byteLength(JSON.stringify(contact.first_name));
  if (contact.last_name !== undefined) bytes += 13 + Buffer.byteLength(JSON.stringify(contact.last_name));
  for (const [name, value] of contact.fields ?? [])
    if (value !== undefined)
      bytes += 2 + Buffer.byteLength(JSON.stringify(name)) + Buffer.byteLength(JSON.stringify(value));
  return bytes;
}

/**
 * One contact exactly as an import body carries it: its entry of `import_data`. Joining entries
 * with commas gives the array's content byte for byte as `JSON.stringify(importBody(...))` writes
 * it; see `SerializedImportRequest`.
 */
export function importEntryJson(contact: ImportContact): string {
  // Written field by field (the run engine calls it once per contact): the same text as
  // JSON.stringify(importEntry(contact)), without building the object; a test holds them equal.
  const { email, first_name: first, last_name: last, fields } = contact;
  let entry = `{"email":${JSON.stringify(email)}${first === undefined ? '' : `,"first_name":${JSON.stringify(first)}`}${last === undefined ? '' : `,"last_name":${JSON.stringify(last)}`}`;
  if (fields !== undefined)
    for (const [name, value] of fields)
      if (value !== undefined) entry += `,${JSON.stringify(name)}:${JSON.stringify(value)}`;
  return `${entry}}`;
}

/** The request body for importing `contacts` into `listIds`: exactly what the batch sizes measured. */
export function importBody(
  contacts: readonly ImportContact[],
  listIds: readonly string[],
): ContactsJsonImport {
  return { import_data: contacts.map(importEntry), list_ids: [...listIds] };
}

/**
 * The text around an import body's entries: `{"import_data":[` + entries joined by commas + `],"list_ids":[...]}`.
 * What is measured when batches are cut is what the client sends.
 */
export function importBodyFrame(listIds: readonly string[]): {
  readonly head: string;
  readonly tail: string;
} {
  return { head: '{"import_data":[', tail: `],"list_ids":${JSON.stringify(listIds)}}` };
}

/**
 * Cuts contacts into import batches one contact at a time, for callers that produce contacts
 * asynchronously or in pages (the run engine reads them from SQLite between awaits): `add` returns a
 * batch when the contact just offered no longer fits in the current one, `finish` the last one. The
 * batches are exactly those of `cutImportBatches` over the same contacts.
 */
export class ImportBatchCutter<C = ImportContact> {
  private readonly overhead: number;
  private batch: C[] = [];
  private firstIndex = 0;
  private bytes: number;
  private index = 0;

  /**
   * `measure` gives the UTF-8 bytes of a contact's entry in the body; the default measures an
   * ImportContact's fields. A caller holding entries already serialized (`importEntryJson`) passes
   * `Buffer.byteLength`.
   */
  constructor(
    listIds: readonly string[],
    private readonly limits: ImportBatchLimits = importBatchLimits,
    private readonly measure: (contact: C) => number = entryBytes as (contact: C) => number,
  ) {
    const frame = importBodyFrame(listIds);
    this.overhead = Buffer.byteLength(frame.head) + Buffer.byteLength(frame.tail);
    this.bytes = this.overhead;
  }

  /**
   * Offers the next contact; returns the batch it closed, if any (the contact then starts the next
   * one). Throws ConstantContactError `contact-too-large` if the contact alone cannot fit in a body.
   */
  add(contact: C): ImportBatch<C> | undefined {
    const size = this.measure(contact);
    let closed: ImportBatch<C> | undefined;
    if (
      this.batch.length > 0 &&
      (this.batch.length >= this.limits.maxContacts || this.bytes + 1 + size >= this.limits.maxBodyBytes)
    ) {
      closed = { contacts: this.batch, firstIndex: this.firstIndex, bodyBytes: this.bytes };
      this.batch = [];
      this.firstIndex = this.index;
      this.bytes = this.overhead;
    }
    if (this.overhead + size >= this.limits.maxBodyBytes) {
      throw new ConstantContactError(
        'contact-too-large',
        `Contact ${this.index + 1} of the import is ${size} bytes as JSON: alone it exceeds the ${this.limits.maxBodyBytes}-byte import body`,
        { context: { index: this.index } },
      );
    }
    this.bytes += (this.batch.length === 0 ? 0 : 1) + size;
    this.batch.push(contact);
    this.index += 1;
    return closed;
  }

  /** The last, partly filled batch (undefined when no contact is waiting); the cutter is then empty. */
  /**
   * The batch being filled, closed, if it holds `maxContacts` already (the next contact could only
   * start another); undefined otherwise. For a caller that hands batches over as soon as they are
   * whole rather than when the next contact comes.
   */
  takeFull(): ImportBatch<C> | undefined {
    return this.batch.length >= this.limits.maxContacts ? this.finish() : undefined;
  }

  finish(): ImportBatch<C> | undefined {
    if (this.batch.length === 0) return undefined;
    const last = { contacts: this.batch, firstIndex: this.firstIndex, bodyBytes: this.bytes };
    this.batch = [];
    this.firstIndex = this.index;
    this.bytes = this.overhead;
    return last;
  }
}

/**
 * Cuts contacts into import batches, in order, none with more than `maxContacts` contacts nor a body
 * of `maxBodyBytes` bytes or more. Each contact is measured once (its fields' JSON), so the cost is
 * linear in the input: the body of n contacts is `{"import_data":[` + the n entries joined by `,` +
 * `],"list_ids":[...]}`, which is exactly what JSON.stringify of `importBody` produces.
 *
 * Lazy: batches are yielded as they fill, so a million contacts never sit in one array twice.
 * Throws ConstantContactError `contact-too-large` if one contact alone cannot fit in a body.
 */
export function* cutImportBatches<C extends ImportContact>(
  contacts: Iterable<C>,
  listIds: readonly string[],
  limits: ImportBatchLimits = importBatchLimits,
): Generator<ImportBatch<C>> {
  const cutter = new ImportBatchCutter<C>(listIds, limits);
  for (const contact of contacts) {
    const closed = cutter.add(contact);
    if (closed) yield closed;
  }
  const last = cutter.finish();
  if (last) yield last;
}
