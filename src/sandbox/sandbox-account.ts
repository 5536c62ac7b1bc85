import { ContactTable, ListMembership } from './contact-table';
import type { SandboxSeed, SeedContact, SeedCustomField, SeedList } from './sandbox-seed';
import { randomHex, randomUuid } from './seeded-random';

/**
 * How long activities take: `initialized` for `startDelayMs`, then `processing` for `baseDurationMs`
 * plus `perItemMs` per item, then final. Activities run side by side, not queued one after another.
 */
export interface ActivityTiming {
  readonly startDelayMs: number;
  readonly baseDurationMs: number;
  readonly perItemMs: number;
}

export interface SandboxList {
  readonly listId: string;
  name: string;
  favorite: boolean;
  readonly createdAt: number;
  updatedAt: number;
  readonly members: ListMembership;
}

/** One entry of import_data that survived the 4 MB cut. */
export interface ImportEntry {
  readonly email?: unknown;
  readonly first_name?: unknown;
  readonly last_name?: unknown;
  /** Every other field: company_name, birthday_month, home_city, cf:<custom field name>… */
  readonly [field: string]: unknown;
}

/** A custom field of the account. */
export interface SandboxCustomField {
  readonly customFieldId: string;
  readonly name: string;
  readonly label: string;
  readonly type: 'string' | 'date';
  readonly createdAt: number;
}

/** The fields of an import entry besides email and names, as stored (strings and numbers). */
function otherFields(entry: ImportEntry): Record<string, string | number> | undefined {
  let fields: Record<string, string | number> | undefined;
  for (const [name, value] of Object.entries(entry)) {
    if (name === 'email' || name === 'first_name' || name === 'last_name') continue;
    if (typeof value !== 'string' && typeof value !== 'number') continue;
    fields ??= {};
    fields[name] = value;
  }
  return fields;
}

type ActivityWork =
  | { readonly kind: 'import'; readonly entries: readonly ImportEntry[]; readonly listIds: readonly string[] }
  | {
      readonly kind: 'remove';
      readonly contactIds: readonly string[];
      readonly sourceListIds: readonly string[];
      readonly allActive: boolean;
      readonly listIds: readonly string[];
    }
  | {
      readonly kind: 'export';
      readonly listIds: readonly string[];
      readonly contactIds: readonly string[];
      readonly status: string | undefined;
      readonly fields: readonly string[];
    };

/** How far an import has been applied (it is applied in slices, between other requests). */
interface ImportProgress {
  next: number;
  errors: number;
  readonly persons: Set<number>;
  readonly refused: Set<number>;
}

export interface SandboxActivity {
  readonly activityId: string;
  readonly kind: ActivityWork['kind'];
  readonly createdAt: number;
  readonly startAt: number;
  /** When its processing time is over and its work gets applied. */
  readonly dueAt: number;
  /** When it completed (its work applied). */
  completedAt?: number;
  readonly itemsTotal: number;
  state: 'initialized' | 'processing' | 'completed';
  /** The counters of `status` once completed (items_total_count is known from the start). */
  counters: Record<string, number>;
  errors: string[];
  work: ActivityWork | undefined;
  progress?: ImportProgress | undefined;
  /** An import's contacts dropped because they lay past the byte limit (sandbox inspection only). */
  dropped?: number;
  /** A finished export: the rows it selected, and its columns. */
  exportRows?: Int32Array;
  exportFields?: readonly string[];
}

/** The filters of `GET /contacts` the sandbox serves. */
export interface ContactQuery {
  readonly listIds: readonly string[];
  readonly email: string | undefined;
  readonly status: readonly string[];
}

/** At most this many `activity_errors` messages per activity (the counters keep the full count). */
const maxActivityErrors = 100;

/** A plausible email: something@something.tld, no spaces. */
const emailPattern = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Import entries applied per turn of the event loop: applying 40,000 at once would stall the server
 * for about 100 ms, delaying (and so misdating) the requests that arrive meanwhile.
 */
const applySlice = 2_000;

/**
 * The sandbox's Constant Contact account: lists, contacts, memberships and bulk activities. Activities
 * move on when `advance(now)` is called, which every request does first (no timer runs, so a test
 * clock controls them); work that is due is then applied in slices between requests, and the activity
 * completes once all of it is applied.
 */
export class SandboxAccount {
  readonly contacts: ContactTable;
  private readonly lists = new Map<string, SandboxList>();
  private readonly customFieldsByName = new Map<string, SandboxCustomField>();
  private readonly activityById = new Map<string, SandboxActivity>();
  private readonly activityOrder: SandboxActivity[] = [];
  /** Activities not yet due, in creation order. */
  private readonly pending: SandboxActivity[] = [];
  /** Activities due, being applied in creation order. */
  private readonly applying: SandboxActivity[] = [];
  private draining = false;

  constructor(
    seed: SandboxSeed,
    private readonly random: () => number,
    private readonly timing: ActivityTiming,
    private readonly now: () => number,
  ) {
    const start = now();
    this.contacts = new ContactTable(seed.accountPrefix ?? randomHex(random, 14));
    for (const list of seed.lists ?? []) this.addList(list, start);
    for (const field of seed.customFields ?? []) this.addCustomField(field, start);
    const seconds = Math.floor(start / 1000);
    for (const contact of seed.contacts ?? []) {
      const row = this.contacts.upsert(
        contact.email,
        contact.firstName,
        contact.lastName,
        seconds,
        contact.fields,
      );
      this.contacts.setUnsubscribed(row, contact.unsubscribed === true);
      for (const listId of contact.listIds ?? []) this.lists.get(listId)?.members.add(row);
    }
  }

  /** Moves activities whose time has come to their next state; due work starts being applied. */
  advance(now: number): void {
    let index = 0;
    while (index < this.pending.length) {
      const activity = this.pending[index] as SandboxActivity;
      if (now >= activity.startAt) activity.state = 'processing';
      if (now >= activity.dueAt) {
        this.pending.splice(index, 1);
        this.applying.push(activity);
      } else index += 1;
    }
    if (this.applying.length > 0 && !this.draining) {
      this.draining = true;
      setImmediate(() => this.drain());
    }
  }

  /** Applies every activity at once, due or not (before the state is saved). */
  finishAll(): void {
    this.applying.push(...this.pending.splice(0));
    while (this.applying.length > 0) {
      const activity = this.applying[0] as SandboxActivity;
      while (!this.applyStep(activity, Number.MAX_SAFE_INTEGER));
      this.applying.shift();
    }
  }

  /** One slice of the oldest due activity per turn of the event loop. */
  private drain(): void {
    const activity = this.applying[0];
    if (!activity) {
      this.draining = false;
      return;
    }
    if (this.applyStep(activity, applySlice)) this.applying.shift();
    setImmediate(() => this.drain());
  }

  list(listId: string): SandboxList | undefined {
    return this.lists.get(listId.toLowerCase());
  }

  allLists(): SandboxList[] {
    return [...this.lists.values()];
  }

  /** The account's custom fields, in the order they were created. */
  customFields(): SandboxCustomField[] {
    return [...this.customFieldsByName.values()];
  }

  /** A custom field by its name (as imports name it after `cf:`), or undefined. */
  customField(name: string): SandboxCustomField | undefined {
    return this.customFieldsByName.get(name);
  }

  /**
   * Deletes a custom field (as someone might in the web app); later imports naming it are refused.
   * False if there was none. For drift tests.
   */
  deleteCustomField(name: string): boolean {
    return this.customFieldsByName.delete(name);
  }

  /**
   * Defines a custom field (as someone might in the Constant Contact web app); for tests. Returns
   * the existing one if the name is taken.
   */
  defineCustomField(field: SeedCustomField): SandboxCustomField {
    return this.customFieldsByName.get(field.name) ?? this.addCustomField(field, this.now());
  }

  /** Creates a list; undefined if one of that name exists (Constant Contact answers 409). */
  createList(name: string, favorite: boolean, now: number): SandboxList | undefined {
    const taken = [...this.lists.values()].some((list) => list.name.toLowerCase() === name.toLowerCase());
    if (taken) return undefined;
    return this.addList({ listId: randomUuid(this.random), name, favorite }, now);
  }

  /**
   * Deletes a list (as someone might in the Constant Contact web app): later requests for it answer
   * 404. Resolves false if there was no such list. For drift tests.
   */
  deleteList(listId: string): boolean {
    return this.lists.delete(listId.toLowerCase());
  }

  /** Members of a list that are not unsubscribed. */
  activeMemberCount(list: SandboxList): number {
    let count = 0;
    for (const row of list.members.rows()) if (!this.contacts.isUnsubscribed(row)) count += 1;
    return count;
  }

  activity(activityId: string): SandboxActivity | undefined {
    return this.activityById.get(activityId.toLowerCase());
  }

  /** Activities, newest first. */
  activities(): SandboxActivity[] {
    return [...this.activityOrder].reverse();
  }

  startImport(entries: readonly ImportEntry[], listIds: readonly string[], now: number): SandboxActivity {
    return this.startActivity({ kind: 'import', entries, listIds }, entries.length, now);
  }

  startRemoval(
    source: { contactIds: readonly string[]; listIds: readonly string[]; allActive: boolean },
    listIds: readonly string[],
    now: number,
  ): SandboxActivity {
    const items = source.allActive || source.listIds.length > 0 ? 0 : source.contactIds.length;
    return this.startActivity(
      {
        kind: 'remove',
        contactIds: source.contactIds,
        sourceListIds: source.listIds,
        allActive: source.allActive,
        listIds,
      },
      items,
      now,
    );
  }

  startExport(
    filter: { listIds: readonly string[]; contactIds: readonly string[]; status: string | undefined },
    fields: readonly string[],
    now: number,
  ): SandboxActivity {
    return this.startActivity({ kind: 'export', ...filter, fields }, 0, now);
  }

  /**
   * Rows matching a `GET /contacts` query, in ascending row order from `fromRow`, at most `limit`;
   * and the row to continue from, if more may follow.
   */
  findContacts(
    query: ContactQuery,
    fromRow: number,
    limit: number,
  ): { rows: number[]; next: number | undefined } {
    const rows: number[] = [];
    const table = this.contacts;
    if (query.email !== undefined) {
      const row = table.find(query.email);
      if (row >= fromRow && this.matches(row, query)) rows.push(row);
      return { rows, next: undefined };
    }
    const lists = query.listIds.map((id) => this.list(id)?.members).filter((m): m is ListMembership => !!m);
    if (query.listIds.length > 0 && lists.length === 0) return { rows, next: undefined };
    for (let row = fromRow; row < table.size; row++) {
      if (lists.length > 0 && !lists.some((members) => members.has(row))) continue;
      if (!this.statusMatches(row, query.status)) continue;
      if (rows.length === limit) return { rows, next: row };
      rows.push(row);
    }
    return { rows, next: undefined };
  }

  /** The lists a contact is on (for `include=list_memberships`). */
  listsOf(row: number): string[] {
    return [...this.lists.values()].filter((list) => list.members.has(row)).map((list) => list.listId);
  }

  /** The state as a seed (lists, contacts with their lists), for a state file. */
  snapshot(): Pick<SandboxSeed, 'accountPrefix' | 'lists' | 'contacts' | 'customFields'> {
    const lists: SeedList[] = [...this.lists.values()].map((list) => ({
      listId: list.listId,
      name: list.name,
      favorite: list.favorite,
    }));
    const memberships = new Map<number, string[]>();
    for (const list of this.lists.values()) {
      for (const row of list.members.rows()) {
        const ids = memberships.get(row);
        if (ids) ids.push(list.listId);
        else memberships.set(row, [list.listId]);
      }
    }
    const contacts: SeedContact[] = [];
    const table = this.contacts;
    for (let row = 0; row < table.size; row++) {
      const firstName = table.firstName(row);
      const lastName = table.lastName(row);
      const fields = table.fields(row);
      const listIds = memberships.get(row);
      contacts.push({
        email: table.email(row),
        ...(firstName === undefined ? {} : { firstName }),
        ...(lastName === undefined ? {} : { lastName }),
        ...(Object.keys(fields).length === 0 ? {} : { fields: { ...fields } }),
        ...(table.isUnsubscribed(row) ? { unsubscribed: true } : {}),
        ...(listIds ? { listIds } : {}),
      });
    }
    const customFields = this.customFields().map((field) => ({
      name: field.name,
      type: field.type,
      label: field.label,
      customFieldId: field.customFieldId,
    }));
    return {
      accountPrefix: table.prefix,
      lists,
      contacts,
      ...(customFields.length === 0 ? {} : { customFields }),
    };
  }

  private addCustomField(field: SeedCustomField, now: number): SandboxCustomField {
    const created: SandboxCustomField = {
      customFieldId: (field.customFieldId ?? randomUuid(this.random)).toLowerCase(),
      name: field.name,
      label: field.label ?? field.name.replaceAll('_', ' '),
      type: field.type ?? 'string',
      createdAt: now,
    };
    this.customFieldsByName.set(created.name, created);
    return created;
  }

  private addList(list: SeedList, now: number): SandboxList {
    const created: SandboxList = {
      listId: list.listId.toLowerCase(),
      name: list.name,
      favorite: list.favorite ?? false,
      createdAt: now,
      updatedAt: now,
      members: new ListMembership(),
    };
    this.lists.set(created.listId, created);
    return created;
  }

  private startActivity(work: ActivityWork, itemsTotal: number, now: number): SandboxActivity {
    const startAt = now + this.timing.startDelayMs;
    const activity: SandboxActivity = {
      activityId: randomUuid(this.random),
      kind: work.kind,
      createdAt: now,
      startAt,
      dueAt: startAt + this.timing.baseDurationMs + Math.round(this.timing.perItemMs * itemsTotal),
      itemsTotal,
      state: 'initialized',
      counters: { items_total_count: itemsTotal },
      errors: [],
      work,
    };
    this.activityById.set(activity.activityId, activity);
    this.activityOrder.push(activity);
    this.pending.push(activity);
    return activity;
  }

  /** Applies up to `slice` items of an activity's work; true once it is all applied (completed). */
  private applyStep(activity: SandboxActivity, slice: number): boolean {
    const work = activity.work;
    const now = this.now();
    if (work?.kind === 'import') {
      if (!this.applyImportSlice(activity, work.entries, work.listIds, slice, now)) return false;
    } else if (work?.kind === 'remove') this.applyRemoval(activity, work);
    else if (work?.kind === 'export') this.applyExport(activity, work);
    activity.work = undefined;
    activity.state = 'completed';
    activity.completedAt = Math.max(now, activity.dueAt);
    return true;
  }

  private applyImportSlice(
    activity: SandboxActivity,
    entries: readonly ImportEntry[],
    listIds: readonly string[],
    slice: number,
    now: number,
  ): boolean {
    const lists = listIds.map((id) => this.list(id)).filter((list): list is SandboxList => !!list);
    const seconds = Math.floor(now / 1000);
    activity.progress ??= { next: 0, errors: 0, persons: new Set(), refused: new Set() };
    const progress = activity.progress;
    const end = Math.min(entries.length, progress.next + slice);
    for (let index = progress.next; index < end; index++) {
      const entry = entries[index] as ImportEntry;
      const email = typeof entry.email === 'string' ? entry.email.trim() : '';
      if (!emailPattern.test(email)) {
        progress.errors += 1;
        if (activity.errors.length < maxActivityErrors)
          activity.errors.push(
            `Row ${index + 1}: ${email === '' ? 'no email address' : 'invalid email address'}`,
          );
        continue;
      }
      const row = this.contacts.upsert(
        email,
        typeof entry.first_name === 'string' ? entry.first_name : undefined,
        typeof entry.last_name === 'string' ? entry.last_name : undefined,
        seconds,
        otherFields(entry),
      );
      progress.persons.add(row);
      // An unsubscribed contact's fields are updated, but it is never put back on a list.
      if (this.contacts.isUnsubscribed(row)) {
        progress.refused.add(row);
        continue;
      }
      for (const list of lists) list.members.add(row);
    }
    progress.next = end;
    if (end < entries.length) return false;
    for (const list of lists) list.updatedAt = now;
    activity.counters = {
      items_total_count: entries.length,
      items_completed_count: entries.length,
      person_count: progress.persons.size,
      error_count: progress.errors,
      // Rows refused for an invalid email can be corrected and imported again.
      correctable_count: progress.errors,
      cannot_add_to_list_count: progress.refused.size,
    };
    activity.progress = undefined;
    return true;
  }

  private applyRemoval(activity: SandboxActivity, work: Extract<ActivityWork, { kind: 'remove' }>): void {
    const targets = work.listIds.map((id) => this.list(id)).filter((list): list is SandboxList => !!list);
    let rows: Iterable<number>;
    if (work.allActive) {
      rows = [...Array(this.contacts.size).keys()].filter((row) => !this.contacts.isUnsubscribed(row));
    } else if (work.sourceListIds.length > 0) {
      const sources = work.sourceListIds
        .map((id) => this.list(id))
        .filter((list): list is SandboxList => !!list);
      rows = new Set(sources.flatMap((list) => [...list.members.rows()]));
    } else {
      rows = work.contactIds.map((id) => this.contacts.rowOf(id)).filter((row) => row >= 0);
    }
    let items = 0;
    for (const row of rows) {
      items += 1;
      for (const list of targets) list.members.delete(row);
    }
    activity.counters = {
      items_total_count: activity.itemsTotal || items,
      items_completed_count: activity.itemsTotal || items,
      list_count: targets.length,
    };
  }

  private applyExport(activity: SandboxActivity, work: Extract<ActivityWork, { kind: 'export' }>): void {
    let rows: number[];
    if (work.contactIds.length > 0) {
      rows = work.contactIds.map((id) => this.contacts.rowOf(id)).filter((row) => row >= 0);
    } else if (work.listIds.length > 0) {
      const lists = work.listIds.map((id) => this.list(id)?.members).filter((m): m is ListMembership => !!m);
      rows = [];
      for (let row = 0; row < this.contacts.size; row++)
        if (lists.some((members) => members.has(row))) rows.push(row);
    } else {
      rows = [...Array(this.contacts.size).keys()];
    }
    const status = work.status === undefined ? [] : [work.status];
    rows = rows.filter((row) => this.statusMatches(row, status));
    activity.exportRows = Int32Array.from(rows);
    activity.exportFields = work.fields;
    activity.counters = { items_total_count: rows.length, items_completed_count: rows.length };
  }

  private matches(row: number, query: ContactQuery): boolean {
    if (query.listIds.length > 0 && !query.listIds.some((id) => this.list(id)?.members.has(row)))
      return false;
    return this.statusMatches(row, query.status);
  }

  /** `status` filter of GET /contacts and exports: none means every contact that is not deleted. */
  private statusMatches(row: number, statuses: readonly string[]): boolean {
    if (statuses.length === 0 || statuses.includes('all')) return true;
    const unsubscribed = this.contacts.isUnsubscribed(row);
    return (
      (statuses.includes('unsubscribed') && unsubscribed) || (statuses.includes('active') && !unsubscribed)
    );
  }
}
