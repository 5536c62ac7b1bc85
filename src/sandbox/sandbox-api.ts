import {
  operationBodyDefinition,
  type SwaggerOperation,
  validateOperationQuery,
  validateSwaggerDefinition,
} from '../constant-contact/swagger-schemas';
import { csvField } from '../profiles/csv-field';
import { importDataElementEnds } from './import-data-offsets';
import type { ImportEntry, SandboxAccount, SandboxActivity, SandboxList } from './sandbox-account';

/** An authenticated API request, after the base path (`/v3`) is taken off. */
export interface ApiRequest {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly contentType: string | undefined;
  readonly body: Buffer;
  readonly now: number;
}

/** The answer: JSON (or text, for CSV) and the route it matched, for the counters. */
export interface ApiAnswer {
  readonly status: number;
  readonly body: unknown;
  readonly contentType?: string;
  readonly route: string;
}

export interface SandboxApiLimits {
  /** Most contacts per JSON import (CC: 40,000); more is a 400. */
  readonly maxImportContacts: number;
  /** Import bytes that count: contacts whose JSON ends at or past this offset are silently dropped. */
  readonly importByteLimit: number;
}

/** CC's error body: an array of {error_key, error_message}. */
export function errorBody(
  key: string,
  ...messages: string[]
): Array<{ error_key: string; error_message: string }> {
  return messages.map((message) => ({ error_key: key, error_message: message }));
}

const validationKey = 'contacts.api.validation.error';
const notFoundKey = 'contacts.api.not.found';

type Handler = (request: ApiRequest, params: readonly string[], body: unknown) => Omit<ApiAnswer, 'route'>;

interface Route {
  readonly method: 'GET' | 'POST';
  readonly template: string;
  readonly pattern: RegExp;
  readonly operation: SwaggerOperation;
  readonly handle: Handler;
}

/**
 * The Constant Contact V3 endpoints the sandbox serves, behind authentication and rate limits (which
 * start-sandbox.ts applies): request bodies and query strings are checked against the swagger first,
 * and refused with CC's array-shaped 400 body.
 */
export class SandboxApi {
  private readonly routes: readonly Route[];

  constructor(
    private readonly account: SandboxAccount,
    private readonly basePath: string,
    private readonly limits: SandboxApiLimits,
  ) {
    const route = (method: Route['method'], template: string, handle: Handler): Route => ({
      method,
      template,
      pattern: new RegExp(`^${template.replace(/\{[a-z_]+\}/g, '([^/]+)')}$`),
      operation: `${method} ${template}` as SwaggerOperation,
      handle,
    });
    this.routes = [
      route('GET', '/contact_lists', (request) => this.getLists(request)),
      route('POST', '/contact_lists', (request, _params, body) => this.createList(request, body)),
      route('GET', '/contact_lists/{list_id}', (request, [listId]) => this.getList(request, listId ?? '')),
      route('GET', '/contacts', (request) => this.getContacts(request)),
      route('GET', '/contact_custom_fields', (request) => this.getCustomFields(request)),
      route('POST', '/activities/contacts_json_import', (request, _params, body) =>
        this.importContacts(request, body),
      ),
      route('POST', '/activities/remove_list_memberships', (request, _params, body) =>
        this.removeMemberships(request, body),
      ),
      route('POST', '/activities/contact_exports', (request, _params, body) =>
        this.exportContacts(request, body),
      ),
      route('GET', '/activities', (request) => this.getActivities(request)),
      route('GET', '/activities/{activity_id}', (request, [id]) => this.getActivity(request, id ?? '')),
      route('GET', '/contact_exports/{file_export_id}', (_request, [id]) => this.getExportFile(id ?? '')),
    ];
  }

  /** The route template a path matches (for counting requests that fail before routing), or the path. */
  routeOf(method: string, path: string): string {
    const found = this.routes.find((route) => route.method === method && route.pattern.test(path));
    return `${method} ${this.basePath}${found ? found.template : path}`;
  }

  handle(request: ApiRequest): ApiAnswer {
    const route = this.routes.find(
      (candidate) => candidate.method === request.method && candidate.pattern.test(request.path),
    );
    if (!route) {
      return {
        status: 404,
        body: errorBody(notFoundKey, `No resource at ${request.method} ${this.basePath}${request.path}`),
        route: `${request.method} ${this.basePath}${request.path}`,
      };
    }
    const routeName = `${route.method} ${this.basePath}${route.template}`;
    if (request.query.has('cursor') && !decodeCursor(request.query.get('cursor'))) {
      return { status: 400, body: errorBody(validationKey, 'cursor is not valid'), route: routeName };
    }
    const params = (route.pattern.exec(request.path) ?? []).slice(1).map(decodeURIComponent);
    const queryProblems = validateOperationQuery(route.operation, request.query);
    if (queryProblems.length > 0) {
      return {
        status: 400,
        body: errorBody(
          validationKey,
          ...queryProblems.map((problem) => `${problem.pointer} ${problem.message}`),
        ),
        route: routeName,
      };
    }
    let body: unknown;
    const definition = operationBodyDefinition(route.operation);
    if (definition) {
      // API-NOTES.md: JSON bodies with Content-Type application/json, anything else is a 415.
      if (!/^application\/json\b/i.test(request.contentType ?? '')) {
        return {
          status: 415,
          body: errorBody('contacts.api.unsupported.media.type', 'Content-Type must be application/json'),
          route: routeName,
        };
      }
      try {
        body = JSON.parse(request.body.toString('utf8'));
      } catch {
        return {
          status: 400,
          body: errorBody(validationKey, 'The request body is not valid JSON'),
          route: routeName,
        };
      }
      const problems = validateSwaggerDefinition(definition, body);
      if (problems.length > 0) {
        return {
          status: 400,
          body: errorBody(
            validationKey,
            ...problems.slice(0, 20).map((problem) => `${problem.pointer} ${problem.message}`),
          ),
          route: routeName,
        };
      }
    }
    return { ...route.handle(request, params, body), route: routeName };
  }

  private getLists(request: ApiRequest): Omit<ApiAnswer, 'route'> {
    const cursor = decodeCursor(request.query.get('cursor'));
    const query = cursor ? new URLSearchParams(cursor.query) : request.query;
    const limit = Number(query.get('limit') ?? 50);
    const start = cursor?.next ?? 0;
    const all = this.account.allLists();
    const page = all.slice(start, start + limit);
    const counts = query.get('include_membership_count') ?? undefined;
    const next = start + limit < all.length ? start + limit : undefined;
    return {
      status: 200,
      body: {
        lists: page.map((list) => this.listJson(list, counts)),
        ...(query.get('include_count') === 'true' ? { lists_count: all.length } : {}),
        ...(next === undefined
          ? {}
          : { _links: { next: { href: this.nextHref('/contact_lists', query, next) } } }),
      },
    };
  }

  private createList(request: ApiRequest, body: unknown): Omit<ApiAnswer, 'route'> {
    const input = body as { name: string; favorite?: boolean };
    const list = this.account.createList(input.name, input.favorite ?? false, request.now);
    if (!list) {
      return {
        status: 409,
        body: errorBody('contacts.api.conflict', `A list named ${input.name} already exists`),
      };
    }
    return { status: 201, body: this.listJson(list, undefined) };
  }

  private getList(request: ApiRequest, listId: string): Omit<ApiAnswer, 'route'> {
    const list = this.account.list(listId);
    if (!list) return { status: 404, body: errorBody(notFoundKey, `List ${listId} was not found`) };
    return {
      status: 200,
      body: this.listJson(list, request.query.get('include_membership_count') ?? undefined),
    };
  }

  private getContacts(request: ApiRequest): Omit<ApiAnswer, 'route'> {
    const cursor = decodeCursor(request.query.get('cursor'));
    const query = cursor ? new URLSearchParams(cursor.query) : request.query;
    const split = (name: string) => (query.get(name) ?? '').split(',').filter((item) => item !== '');
    const filter = {
      listIds: split('lists'),
      email: query.get('email') ?? undefined,
      status: split('status'),
    };
    const limit = Number(query.get('limit') ?? 50);
    const { rows, next } = this.account.findContacts(filter, cursor?.next ?? 0, limit);
    const include = split('include');
    let count: number | undefined;
    if (query.get('include_count') === 'true')
      count = this.account.findContacts(filter, 0, Number.MAX_SAFE_INTEGER).rows.length;
    return {
      status: 200,
      body: {
        contacts: rows.map((row) => this.contactJson(row, include)),
        ...(count === undefined ? {} : { contacts_count: count }),
        ...(next === undefined
          ? {}
          : { _links: { next: { href: this.nextHref('/contacts', query, next) } } }),
      },
    };
  }

  private importContacts(request: ApiRequest, body: unknown): Omit<ApiAnswer, 'route'> {
    const input = body as { import_data: ImportEntry[]; list_ids: string[] };
    if (input.import_data.length > this.limits.maxImportContacts) {
      return {
        status: 400,
        body: errorBody(
          validationKey,
          `import_data has ${input.import_data.length} contacts; one import takes at most ${this.limits.maxImportContacts}`,
        ),
      };
    }
    const missing = this.missingLists(input.list_ids);
    if (missing) return missing;
    const unknown = this.unknownCustomFields(input.import_data);
    if (unknown.length > 0) {
      // Constant Contact imports only into custom fields the account defines: refused whole.
      return {
        status: 400,
        body: errorBody(
          validationKey,
          ...unknown.map(
            (name) =>
              `Custom field cf:${name} does not exist in the account: create it in Constant Contact first`,
          ),
        ),
      };
    }
    let entries = input.import_data;
    if (request.body.length > this.limits.importByteLimit) {
      // Like Constant Contact: what lies past the 4 MB mark is dropped without a word. A contact is
      // kept when its JSON ends before the mark; list_ids count wherever they are in the body.
      const ends = importDataElementEnds(request.body) ?? [];
      const kept = ends.filter((end) => end < this.limits.importByteLimit).length;
      entries = entries.slice(0, kept);
    }
    const activity = this.account.startImport(entries, input.list_ids, request.now);
    activity.dropped = input.import_data.length - entries.length;
    return { status: 201, body: this.activityJson(activity, request.now) };
  }

  /** The `cf:` names of import entries that are not custom fields of the account, each once. */
  private unknownCustomFields(entries: readonly ImportEntry[]): string[] {
    const unknown = new Set<string>();
    for (const entry of entries)
      for (const name of Object.keys(entry))
        if (name.startsWith('cf:') && !this.account.customField(name.slice(3))) unknown.add(name.slice(3));
    return [...unknown];
  }

  private getCustomFields(request: ApiRequest): Omit<ApiAnswer, 'route'> {
    const cursor = decodeCursor(request.query.get('cursor'));
    const query = cursor ? new URLSearchParams(cursor.query) : request.query;
    const limit = Number(query.get('limit') ?? 50);
    const start = cursor?.next ?? 0;
    const all = this.account.customFields();
    const next = start + limit < all.length ? start + limit : undefined;
    return {
      status: 200,
      body: {
        custom_fields: all.slice(start, start + limit).map((field) => ({
          custom_field_id: field.customFieldId,
          label: field.label,
          name: field.name,
          type: field.type,
          created_at: new Date(field.createdAt).toISOString(),
          updated_at: new Date(field.createdAt).toISOString(),
        })),
        ...(next === undefined
          ? {}
          : { _links: { next: { href: this.nextHref('/contact_custom_fields', query, next) } } }),
      },
    };
  }

  private removeMemberships(request: ApiRequest, body: unknown): Omit<ApiAnswer, 'route'> {
    const input = body as {
      source: {
        contact_ids?: string[];
        list_ids?: string[];
        all_active_contacts?: boolean;
        tag_ids?: string[];
      };
      list_ids: string[];
    };
    const { source } = input;
    const sources = [
      (source.contact_ids?.length ?? 0) > 0,
      (source.list_ids?.length ?? 0) > 0,
      source.all_active_contacts === true,
      (source.tag_ids?.length ?? 0) > 0,
    ].filter(Boolean).length;
    if (sources !== 1) {
      return {
        status: 400,
        body: errorBody(
          validationKey,
          'source must name exactly one of contact_ids, list_ids, all_active_contacts, tag_ids',
        ),
      };
    }
    if (source.tag_ids?.length) {
      return {
        status: 400,
        body: errorBody(validationKey, 'the sandbox does not keep tags: source.tag_ids is not supported'),
      };
    }
    if (input.list_ids.length === 0)
      return { status: 400, body: errorBody(validationKey, 'list_ids must not be empty') };
    const missing = this.missingLists([...input.list_ids, ...(source.list_ids ?? [])]);
    if (missing) return missing;
    const activity = this.account.startRemoval(
      {
        contactIds: source.contact_ids ?? [],
        listIds: source.list_ids ?? [],
        allActive: source.all_active_contacts === true,
      },
      input.list_ids,
      request.now,
    );
    return { status: 201, body: this.activityJson(activity, request.now) };
  }

  private exportContacts(request: ApiRequest, body: unknown): Omit<ApiAnswer, 'route'> {
    const input = body as { list_ids?: string[]; contact_ids?: string[]; status?: string; fields?: string[] };
    const missing = this.missingLists(input.list_ids ?? []);
    if (missing) return missing;
    const activity = this.account.startExport(
      { listIds: input.list_ids ?? [], contactIds: input.contact_ids ?? [], status: input.status },
      input.fields?.length ? input.fields : ['email_address', 'first_name', 'last_name'],
      request.now,
    );
    return { status: 201, body: this.activityJson(activity, request.now) };
  }

  private getActivities(request: ApiRequest): Omit<ApiAnswer, 'route'> {
    const cursor = decodeCursor(request.query.get('cursor'));
    const query = cursor ? new URLSearchParams(cursor.query) : request.query;
    const limit = Number(query.get('limit') ?? 50);
    const state = query.get('state');
    const all = this.account.activities().filter((activity) => !state || activity.state === state);
    const start = cursor?.next ?? 0;
    const next = start + limit < all.length ? start + limit : undefined;
    return {
      status: 200,
      body: {
        activities: all
          .slice(start, start + limit)
          .map((activity) => this.activityJson(activity, request.now)),
        ...(next === undefined
          ? {}
          : { _links: { next: { href: this.nextHref('/activities', query, next) } } }),
      },
    };
  }

  private getActivity(request: ApiRequest, activityId: string): Omit<ApiAnswer, 'route'> {
    const activity = this.account.activity(activityId);
    if (!activity)
      return { status: 404, body: errorBody(notFoundKey, `Activity ${activityId} was not found`) };
    return { status: 200, body: this.activityJson(activity, request.now) };
  }

  private getExportFile(fileExportId: string): Omit<ApiAnswer, 'route'> {
    const activity = this.account.activity(fileExportId);
    if (activity?.kind !== 'export' || !activity.exportRows) {
      return { status: 404, body: errorBody(notFoundKey, `Export file ${fileExportId} was not found`) };
    }
    const fields = activity.exportFields ?? [];
    const contacts = this.account.contacts;
    const value = (row: number, field: string): string => {
      if (field === 'email_address') return contacts.email(row);
      if (field === 'first_name') return contacts.firstName(row) ?? '';
      if (field === 'last_name') return contacts.lastName(row) ?? '';
      return String(contacts.fields(row)[field] ?? '');
    };
    // The contact's ID leads every row: the bulk email -> contact ID mapping depends on it.
    const lines = [['contact_id', ...fields].join(',')];
    for (const row of activity.exportRows) {
      lines.push([contacts.contactId(row), ...fields.map((field) => csvField(value(row, field)))].join(','));
    }
    return { status: 200, body: `${lines.join('\r\n')}\r\n`, contentType: 'text/csv; charset=utf-8' };
  }

  private missingLists(listIds: readonly string[]): Omit<ApiAnswer, 'route'> | undefined {
    const missing = listIds.filter((id) => !this.account.list(id));
    return missing.length === 0
      ? undefined
      : { status: 404, body: errorBody(notFoundKey, ...missing.map((id) => `List ${id} was not found`)) };
  }

  private listJson(list: SandboxList, counts: string | undefined) {
    return {
      list_id: list.listId,
      name: list.name,
      favorite: list.favorite,
      created_at: new Date(list.createdAt).toISOString(),
      updated_at: new Date(list.updatedAt).toISOString(),
      ...(counts === 'all' ? { membership_count: list.members.count } : {}),
      ...(counts === 'active' ? { membership_count: this.account.activeMemberCount(list) } : {}),
    };
  }

  private contactJson(row: number, include: readonly string[]) {
    const withLists = include.includes('list_memberships');
    const contacts = this.account.contacts;
    const created = new Date(contacts.createdAt(row) * 1000).toISOString();
    const updated = new Date(contacts.updatedAt(row) * 1000).toISOString();
    const unsubscribed = contacts.isUnsubscribed(row);
    const firstName = contacts.firstName(row);
    const lastName = contacts.lastName(row);
    return {
      contact_id: contacts.contactId(row),
      email_address: {
        address: contacts.email(row),
        permission_to_send: unsubscribed ? 'unsubscribed' : 'implicit',
        created_at: created,
        updated_at: updated,
        opt_in_source: 'Account',
        ...(unsubscribed ? { opt_out_source: 'Contact' } : {}),
      },
      ...(firstName === undefined ? {} : { first_name: firstName }),
      ...(lastName === undefined ? {} : { last_name: lastName }),
      ...contactFieldsJson(this.account, this.account.contacts.fields(row), include),
      create_source: 'Account',
      created_at: created,
      updated_at: updated,
      ...(withLists ? { list_memberships: this.account.listsOf(row) } : {}),
    };
  }

  /** The activity as CC answers it: Activity / ActivityImport / ActivityListsMembership / ActivityExportStatus. */
  private activityJson(activity: SandboxActivity, now: number) {
    const span = Math.max(1, activity.dueAt - activity.startAt);
    const percent =
      activity.state === 'completed'
        ? 100
        : activity.state === 'processing'
          ? Math.min(99, Math.floor(((now - activity.startAt) / span) * 100))
          : 0;
    const iso = (ms: number) => new Date(ms).toISOString();
    const self = `${this.basePath}/activities/${activity.activityId}`;
    return {
      activity_id: activity.activityId,
      state: activity.state,
      created_at: iso(activity.createdAt),
      updated_at: iso(
        activity.completedAt ?? (activity.state === 'processing' ? activity.startAt : activity.createdAt),
      ),
      ...(activity.state === 'initialized' ? {} : { started_at: iso(activity.startAt) }),
      ...(activity.completedAt === undefined ? {} : { completed_at: iso(activity.completedAt) }),
      percent_done: percent,
      activity_errors: activity.errors,
      status: activity.counters,
      _links: {
        self: { href: self },
        ...(activity.kind === 'export' && activity.state === 'completed'
          ? { results: { href: `${this.basePath}/contact_exports/${activity.activityId}` } }
          : {}),
      },
    };
  }

  private nextHref(path: string, query: URLSearchParams, next: number): string {
    const cursor = Buffer.from(JSON.stringify({ query: query.toString(), next })).toString('base64url');
    return `${this.basePath}${path}?cursor=${cursor}`;
  }
}

function decodeCursor(value: string | null): { query: string; next: number } | undefined {
  if (!value) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as {
      query?: unknown;
      next?: unknown;
    };
    if (typeof parsed.query === 'string' && typeof parsed.next === 'number')
      return { query: parsed.query, next: parsed.next };
  } catch {
    // Not base64 JSON: not a cursor this sandbox made.
  }
  return undefined;
}

const profileFields = ['job_title', 'company_name', 'birthday_month', 'birthday_day', 'anniversary'];
const phoneKinds: Record<string, string> = {
  phone: 'other',
  home_phone: 'home',
  work_phone: 'work',
  mobile_phone: 'mobile',
  other_phone: 'other',
};
const addressParts = ['street', 'street2', 'city', 'state', 'zip', 'country'];

/**
 * A contact's imported fields as `GET /contacts` shows them (the Contact definition): job title,
 * company, birthday and anniversary at the top; phone numbers, street addresses and custom fields
 * only when `include` asks for them, as Constant Contact does. Street line two is appended to line
 * one, and the primary address is a `home` one, as the import's documentation says.
 */
function contactFieldsJson(
  account: SandboxAccount,
  fields: Readonly<Record<string, string | number>>,
  include: readonly string[],
): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const name of profileFields) if (fields[name] !== undefined) json[name] = fields[name];
  if (include.includes('phone_numbers')) {
    const phones = Object.entries(phoneKinds)
      .filter(([name]) => fields[name] !== undefined)
      .map(([name, kind]) => ({ phone_number: String(fields[name]), kind }));
    if (phones.length > 0) json.phone_numbers = phones;
  }
  if (include.includes('street_addresses')) {
    const addresses: Record<string, string>[] = [];
    for (const [prefix, kind] of [
      ['', 'home'],
      ['home_', 'home'],
      ['work_', 'work'],
      ['other_', 'other'],
    ] as const) {
      const part = (name: string) => {
        const value = fields[`${prefix}${name}`];
        return value === undefined ? undefined : String(value);
      };
      if (addressParts.every((name) => part(name) === undefined)) continue;
      const street = [part('street'), part('street2')].filter((value) => value !== undefined).join(' ');
      const address: Record<string, string> = { kind };
      if (street !== '') address.street = street;
      for (const [name, as] of [
        ['city', 'city'],
        ['state', 'state'],
        ['zip', 'postal_code'],
        ['country', 'country'],
      ] as const) {
        const value = part(name);
        if (value !== undefined) address[as] = value;
      }
      addresses.push(address);
    }
    if (addresses.length > 0) json.street_addresses = addresses;
  }
  if (include.includes('custom_fields')) {
    const custom = Object.entries(fields)
      .filter(([name]) => name.startsWith('cf:'))
      .map(([name, value]) => ({
        custom_field_id: account.customField(name.slice(3))?.customFieldId ?? '',
        value: String(value),
      }));
    if (custom.length > 0) json.custom_fields = custom;
  }
  return json;
}
