/**
 * The sandbox's contacts, stored column-wise so a million of them stay small: parallel arrays for
 * email and names, one byte of status, and an email index. A contact's ID is not stored: it is the
 * account's prefix followed by the contact's row number in hex, so it converts both ways for free.
 */
export class ContactTable {
  private readonly emails: string[] = [];
  private readonly firstNames: (string | undefined)[] = [];
  private readonly lastNames: (string | undefined)[] = [];
  private statuses = new Uint8Array(1024);
  private readonly byEmail = new Map<string, number>();
  /** Every other field an import set (company_name, birthday_month, cf:<name>…), by row; sparse. */
  private readonly others = new Map<number, Record<string, string | number>>();
  /** When each contact was created and last updated, in epoch seconds. */
  private created = new Uint32Array(1024);
  private updated = new Uint32Array(1024);

  /** @param prefix 14 hex digits: the account's part of every contact ID. */
  constructor(readonly prefix: string) {}

  get size(): number {
    return this.emails.length;
  }

  /** The row of a contact by email (case-insensitive), or -1. */
  find(email: string): number {
    return this.byEmail.get(email.toLowerCase()) ?? -1;
  }

  /**
   * Creates or updates a contact by email; only the names and fields given are changed (an import
   * updates only the fields it sends). Returns the row.
   */
  upsert(
    email: string,
    firstName: string | undefined,
    lastName: string | undefined,
    nowSeconds: number,
    fields?: Readonly<Record<string, string | number>>,
  ): number {
    const key = email.toLowerCase();
    let row = this.byEmail.get(key);
    if (row === undefined) {
      row = this.emails.length;
      this.emails.push(email);
      this.firstNames.push(firstName);
      this.lastNames.push(lastName);
      this.byEmail.set(key, row);
      this.grow(row + 1);
      this.created[row] = nowSeconds;
    } else {
      if (firstName !== undefined) this.firstNames[row] = firstName;
      if (lastName !== undefined) this.lastNames[row] = lastName;
    }
    if (fields !== undefined && Object.keys(fields).length > 0)
      this.others.set(row, { ...this.others.get(row), ...fields });
    this.updated[row] = nowSeconds;
    return row;
  }

  email(row: number): string {
    return this.emails[row] ?? '';
  }

  firstName(row: number): string | undefined {
    return this.firstNames[row];
  }

  lastName(row: number): string | undefined {
    return this.lastNames[row];
  }

  /** The contact's other fields as imported (JSON import names), or an empty object. */
  fields(row: number): Readonly<Record<string, string | number>> {
    return this.others.get(row) ?? {};
  }

  createdAt(row: number): number {
    return this.created[row] ?? 0;
  }

  updatedAt(row: number): number {
    return this.updated[row] ?? 0;
  }

  isUnsubscribed(row: number): boolean {
    return this.statuses[row] === 1;
  }

  setUnsubscribed(row: number, unsubscribed: boolean): void {
    this.statuses[row] = unsubscribed ? 1 : 0;
  }

  /** The contact ID of a row: a UUID whose first 14 hex digits are the account prefix. */
  contactId(row: number): string {
    const p = this.prefix;
    const tail = row.toString(16).padStart(12, '0');
    return `${p.slice(0, 8)}-${p.slice(8, 12)}-4${p.slice(12, 14)}0-8000-${tail}`;
  }

  /** The row of a contact ID, or -1 if it is not one of this table's. */
  rowOf(contactId: string): number {
    const p = this.prefix;
    const head = `${p.slice(0, 8)}-${p.slice(8, 12)}-4${p.slice(12, 14)}0-8000-`;
    if (contactId.length !== 36 || !contactId.toLowerCase().startsWith(head)) return -1;
    const row = Number.parseInt(contactId.slice(head.length), 16);
    return Number.isInteger(row) && row < this.emails.length ? row : -1;
  }

  private grow(size: number): void {
    if (size <= this.statuses.length) return;
    const capacity = Math.max(size, this.statuses.length * 2);
    const statuses = new Uint8Array(capacity);
    statuses.set(this.statuses);
    this.statuses = statuses;
    const created = new Uint32Array(capacity);
    created.set(this.created);
    this.created = created;
    const updated = new Uint32Array(capacity);
    updated.set(this.updated);
    this.updated = updated;
  }
}

/** Which contacts (rows) are on one list: a byte per row, and the count. */
export class ListMembership {
  private marks = new Uint8Array(1024);
  private members = 0;

  get count(): number {
    return this.members;
  }

  has(row: number): boolean {
    return this.marks[row] === 1;
  }

  /** Adds a row; true if it was not a member. */
  add(row: number): boolean {
    if (row >= this.marks.length) {
      const marks = new Uint8Array(Math.max(row + 1, this.marks.length * 2));
      marks.set(this.marks);
      this.marks = marks;
    }
    if (this.marks[row] === 1) return false;
    this.marks[row] = 1;
    this.members += 1;
    return true;
  }

  /** Removes a row; true if it was a member. */
  delete(row: number): boolean {
    if (this.marks[row] !== 1) return false;
    this.marks[row] = 0;
    this.members -= 1;
    return true;
  }

  /** Member rows in ascending order, starting at `from`. */
  *rows(from = 0): Generator<number> {
    const marks = this.marks;
    for (let row = from; row < marks.length; row++) if (marks[row] === 1) yield row;
  }
}
