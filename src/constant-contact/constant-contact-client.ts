import axios, { type AxiosInstance, type AxiosResponse, type RawAxiosRequestConfig } from 'axios';
import { BulkActivitiesApi } from 'ctct-api-client/dist/api/bulk-activities-api';
import { ContactListsApi } from 'ctct-api-client/dist/api/contact-lists-api';
import { ContactsApi } from 'ctct-api-client/dist/api/contacts-api';
import { Configuration } from 'ctct-api-client/dist/configuration';
import type { CreateImportJSONActivityRequest } from 'ctct-api-client/dist/models';
import { isLoopbackHost } from '../net';
import { type ActivityReport, toActivityReport } from './activity-report';
import { clientEnvironmentDefaults } from './client-environment';
import { type Clock, systemClock } from './clock';
import { type ConnectionCredentials, ConnectionTokens } from './connection-tokens';
import {
  AuthError,
  ConstantContactError,
  type ConstantContactErrorCode,
  RateLimitError,
  type RequestDescription,
} from './constant-contact-errors';
import { type ListMember, parseContactExportCsv } from './contact-export-csv';
import { type ImportContact, importBatchLimits, importBody, importBodyFrame } from './import-batches';
import type { QuotaStatus, RateLimits } from './rate-limiter';
import { type RateLimiterRegistry, sharedRateLimiters } from './rate-limiter-registry';
import type { RequestLimiter } from './request-limiter';
import type { ApiLogger, OnApiRequest } from './request-observer';
import { secondsText } from './retry-notices';
import { defaultRetryPolicy, type RetryPolicy } from './retry-policy';
import { type AttemptEnvironment, errorText, type FinalFailure, sendWithRetries } from './send-with-retries';
import type {
  Activities,
  ContactList,
  ContactListPutPost,
  Contacts,
  ContactsExport,
  CustomField,
  CustomFields,
  ListActivityRemoveContacts,
  ListInput,
} from './swagger-types.generated';
import type { TokenStore } from './token-store';

/** Constant Contact's production endpoints (a Connection's `spec.endpoints` defaults). */
export const constantContactEndpoints = {
  api: 'https://api.cc.email/v3',
  token: 'https://authz.constantcontact.com/oauth2/default/v1/token',
} as const;

/** Most contact IDs one `remove_list_memberships` call takes (API-NOTES.md). */
export const maxContactIdsPerRemoval = 500;
/** Most lists one activity targets. */
export const maxListsPerActivity = 50;
/** The largest page `GET /contacts` and `GET /activities` serve. */
export const maxPageSize = 500;
/** `GET /contact_lists` answers at most 1,000 lists per page (an account holds at most 1,000). */
export const maxListsPerPage = 1000;
/** `GET /contact_custom_fields` serves at most 100 per page (an account holds at most 100). */
export const maxCustomFieldsPerPage = 100;

/** How `waitForActivity` polls: delays grow by `factor` from `initialDelayMs` to `maxDelayMs`. */
export interface ActivityPolling {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
  /** Give up (ConstantContactError `activity-wait-timeout`) after this long. */
  readonly timeoutMs: number;
}

export interface RequestTimeouts {
  /**
   * The request timeout: per call, every attempt and every wait to retry included, from its first
   * attempt on. An import's and a download's call get at least one whole attempt (`importMs`,
   * `downloadMs`). A token refresh inside a call is a call of its own.
   */
  readonly callMs: number;
  /** Per attempt of an ordinary request. */
  readonly requestMs: number;
  /** Per attempt of an import: up to 4 MB go up. */
  readonly importMs: number;
  /** Per attempt of a token request. */
  readonly tokenMs: number;
  /** Per attempt of an export file download (it can hold a million rows). */
  readonly downloadMs: number;
}

export interface ConstantContactClientOptions {
  /** The Connection's metadata.name; errors and logs name it. */
  readonly connectionName: string;
  readonly credentials: ConnectionCredentials;
  /** Where the connection's tokens persist (the state store's, or MemoryTokenStore). */
  readonly tokenStore: TokenStore;
  /** The Connection's `spec.endpoints`; defaults to Constant Contact's production URLs. */
  readonly endpoints?: Partial<{ readonly api: string; readonly token: string }>;
  /** The Connection's `spec.limits`; defaults 4 requests/second, 10,000/day. */
  readonly limits?: Partial<RateLimits>;
  /**
   * Where the per-key limiters live: the state's (`rateLimitersFor` in the wiring), shared with other
   * processes; default the process-wide, process-only `sharedRateLimiters`.
   */
  readonly rateLimiters?: RateLimiterRegistry;
  readonly clock?: Clock;
  /** Numbers in [0, 1) for jitter; default Math.random. */
  readonly random?: () => number;
  readonly retryPolicy?: Partial<RetryPolicy>;
  /** Default: `clientEnvironmentVariables` (the request timeout), else 30 s per call. */
  readonly timeouts?: Partial<RequestTimeouts>;
  readonly activityPolling?: Partial<ActivityPolling>;
  /** Refresh access tokens this long before they expire (capped at a tenth of their lifetime). */
  readonly tokenExpiryMarginMs?: number;
  /** Called after every attempt of every request (API and token endpoint). */
  readonly onRequest?: OnApiRequest;
  /** Receives debug lines and retry notices; default: `clientEnvironmentVariables`, else none. */
  readonly logger?: ApiLogger;
}

const defaults = {
  timeouts: { callMs: 30_000, requestMs: 30_000, importMs: 120_000, tokenMs: 30_000, downloadMs: 300_000 },
  activityPolling: { initialDelayMs: 1_000, maxDelayMs: 15_000, factor: 1.5, timeoutMs: 3_600_000 },
  tokenExpiryMarginMs: 5 * 60_000,
} as const satisfies {
  timeouts: RequestTimeouts;
  activityPolling: ActivityPolling;
  tokenExpiryMarginMs: number;
};

/** The batch `importContacts` sends: a batch from `cutImportBatches`, and the lists to add it to. */
export interface ImportRequest {
  readonly contacts: readonly ImportContact[];
  readonly listIds: readonly string[];
}

/**
 * An import whose contacts are already serialized: `importData` is the UTF-8 bytes of their
 * `importEntryJson` texts joined by commas (a batch cut by `ImportBatchCutter` over those texts), so
 * that a stored batch is sent without being parsed, serialized or even held as a string again. The
 * body is the same bytes as for an ImportRequest of the same contacts.
 */
export interface SerializedImportRequest {
  readonly importData: Uint8Array;
  /** How many entries `importData` holds. */
  readonly contacts: number;
  readonly listIds: readonly string[];
}

export interface RemoveMembershipsRequest {
  /** At most 500 (`maxContactIdsPerRemoval`). */
  readonly contactIds: readonly string[];
  readonly listIds: readonly string[];
}

/** How `emailsToContactIds` reads a list. */
export type MembershipReadMethod = 'paging' | 'export';

/**
 * The one way exportctl talks to Constant Contact. Endpoint calls go through Constant Contact's own
 * generated client (ctct-api-client), over an axios instance that answers every status; around each
 * call this class adds the per-key rate limiter, the retry policy, the one-refresh-on-401 rule and
 * error mapping. All methods reject with ConstantContactError (or its subclasses AuthError,
 * RateLimitError, QuotaExceededError); no error, log line or event carries a credential.
 */
export class ConstantContactClient {
  readonly connectionName: string;
  private readonly apiUrl: string;
  private readonly apiPath: string;
  private readonly http: AxiosInstance;
  private readonly limiter: RequestLimiter;
  private readonly tokens: ConnectionTokens;
  private readonly environment: AttemptEnvironment;
  private readonly timeouts: RequestTimeouts;
  private readonly polling: ActivityPolling;
  private readonly directOptions: RawAxiosRequestConfig;
  private readonly lists: ContactListsApi;
  private readonly contacts: ContactsApi;
  private readonly activities: BulkActivitiesApi;

  constructor(options: ConstantContactClientOptions) {
    this.connectionName = options.connectionName;
    this.apiUrl = (options.endpoints?.api ?? constantContactEndpoints.api).replace(/\/+$/, '');
    this.apiPath = new URL(this.apiUrl).pathname.replace(/\/+$/, '');
    const tokenUrl = options.endpoints?.token ?? constantContactEndpoints.token;
    const clock = options.clock ?? systemClock;
    const ambient = clientEnvironmentDefaults();
    this.timeouts = {
      ...defaults.timeouts,
      ...(ambient.callMs === undefined ? {} : { callMs: ambient.callMs }),
      ...options.timeouts,
    };
    this.environment = {
      clock,
      random: options.random ?? Math.random,
      retryPolicy: { ...defaultRetryPolicy, ...options.retryPolicy },
      callTimeoutMs: this.timeouts.callMs,
      onRequest: options.onRequest,
      logger: options.logger ?? ambient.logger,
    };
    this.polling = { ...defaults.activityPolling, ...options.activityPolling };
    // Every status resolves: the retry loop reads the answer. No redirects: a bearer token must
    // not follow one to another host.
    this.http = axios.create({
      validateStatus: () => true,
      maxRedirects: 0,
      maxBodyLength: 16 * 1024 * 1024,
    });
    // Proxy settings in the environment must not divert calls to the local sandbox.
    this.directOptions = isLoopbackHost(new URL(this.apiUrl).hostname) ? { proxy: false } : {};
    const registry = options.rateLimiters ?? sharedRateLimiters;
    const clientId = options.credentials.clientId;
    this.limiter = registry.forApiKey({ clientId, baseUrl: this.apiUrl }, options.limits ?? {});
    this.tokens = new ConnectionTokens({
      connectionName: options.connectionName,
      credentials: options.credentials,
      tokenUrl,
      store: options.tokenStore,
      http: this.http,
      limiter: registry.forTokenEndpoint({ clientId, baseUrl: tokenUrl }),
      environment: this.environment,
      expiryMarginMs: options.tokenExpiryMarginMs ?? defaults.tokenExpiryMarginMs,
      timeoutMs: this.timeouts.tokenMs,
    });
    const configuration = new Configuration({ basePath: this.apiUrl });
    this.lists = new ContactListsApi(configuration, this.apiUrl, this.http);
    this.contacts = new ContactsApi(configuration, this.apiUrl, this.http);
    this.activities = new BulkActivitiesApi(configuration, this.apiUrl, this.http);
  }

  /**
   * Proves the credentials work: obtains an access token (from the cache, the store, or a refresh).
   * Rejects with AuthError (`reauthorization-required`, `invalid-client`) when they do not.
   */
  async verifyCredentials(): Promise<void> {
    await this.tokens.accessToken();
  }

  /** What is left of the API key's daily budget, as this process counted it. */
  quota(): QuotaStatus {
    return this.limiter.quota();
  }

  /**
   * `GET /contact_lists/{list_id}?include_membership_count=...` (default `all`): the list with its
   * `membership_count`. A list that does not exist rejects with code `list-not-found`.
   */
  async getList(listId: string, options: { membershipCount?: 'all' | 'active' } = {}): Promise<ContactList> {
    const response = await this.call(
      { method: 'GET', template: '/contact_lists/{list_id}', ids: [listId], notFound: 'list-not-found' },
      (config) => this.lists.getList(listId, options.membershipCount ?? 'all', config),
    );
    return this.expectObject<ContactList>(response, 'list_id');
  }

  /**
   * `GET /contact_lists?limit=1000&include_membership_count=all`, following `_links.next.href`: every
   * list of the account with its membership count. An account holds at most 1,000 lists, so this is
   * one request (or a few) where checking N destinations one by one would take N.
   */
  async listLists(): Promise<ContactList[]> {
    const lists: ContactList[] = [];
    let response = await this.call({ method: 'GET', template: '/contact_lists' }, (config) =>
      this.lists.getAllLists(
        maxListsPerPage,
        undefined,
        'all',
        undefined,
        undefined,
        undefined,
        undefined,
        config,
      ),
    );
    for (;;) {
      const page = response.data as
        | { lists?: ContactList[]; _links?: { next?: { href?: string } } }
        | undefined;
      lists.push(...(page?.lists ?? []));
      const next = page?._links?.next?.href;
      if (!next) return lists;
      // The next page is a link, not an operation of the generated client: follow it as is.
      const url = this.apiLink(next);
      response = await this.call(
        { method: 'GET', template: '/contact_lists', pathOverride: url.pathname },
        (config) => this.http.request({ ...config, method: 'GET', url: url.toString() }),
      );
    }
  }

  /**
   * `GET /contact_custom_fields?limit=100`, following `_links.next.href`: every custom field of the
   * account (at most 100 exist), with its `name` (what an import names after `cf:`) and `type`.
   */
  async listCustomFields(): Promise<CustomField[]> {
    const fields: CustomField[] = [];
    const first = this.apiLink(`${this.apiPath}/contact_custom_fields?limit=${maxCustomFieldsPerPage}`);
    let url = first;
    for (;;) {
      const target = url;
      const response = await this.call(
        { method: 'GET', template: '/contact_custom_fields', pathOverride: target.pathname },
        (config) => this.http.request({ ...config, method: 'GET', url: target.toString() }),
      );
      const page = response.data as CustomFields | undefined;
      fields.push(...(page?.custom_fields ?? []));
      const next = page?._links?.next?.href;
      if (!next) return fields;
      // The next page is a link, not an operation of the generated client: follow it as is.
      url = this.apiLink(next);
    }
  }

  /** `POST /contact_lists`: creates a list (the sandbox demo; exportctl never creates lists itself). */
  async createList(input: ListInput): Promise<ContactListPutPost> {
    const response = await this.call({ method: 'POST', template: '/contact_lists' }, (config) =>
      this.lists.createList(input as Parameters<ContactListsApi['createList']>[0], config),
    );
    return this.expectObject<ContactListPutPost>(response, 'list_id');
  }

  /**
   * `POST /activities/contacts_json_import`: imports one batch (at most 40,000 contacts and a body under
   * 4,000,000 bytes: cut it with `cutImportBatches`, or serialized: `SerializedImportRequest`) into 1
   * to 50 lists. Resolves with the new activity
   * (state `initialized`); wait for it with `waitForActivity`.
   *
   * Not idempotent: it is retried only when nothing can have been done (429 throttled, 503, no
   * connection). If it fails after the request may have arrived (timeout, lost connection, 500), the
   * error has `mayHaveSucceeded: true` and `sentAt`: look for the activity with `listActivities`
   * (created at or after sentAt) before submitting the batch again.
   */
  async importContacts(request: ImportRequest | SerializedImportRequest): Promise<ActivityReport> {
    const { listIds } = request;
    const count = 'importData' in request ? request.contacts : request.contacts.length;
    checkCount('contacts to import', count, importBatchLimits.maxContacts);
    checkListIds(listIds);
    // The generated client sends a string body unchanged (serializeDataIfNeeded): we send exactly
    // the bytes we measured, rather than letting it serialize the object a second time.
    const frame = importBodyFrame(listIds);
    const body =
      'importData' in request
        ? Buffer.concat([Buffer.from(frame.head), request.importData, Buffer.from(frame.tail)])
        : JSON.stringify(importBody(request.contacts, listIds));
    const bytes = typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    if (bytes >= importBatchLimits.maxBodyBytes) {
      throw new ConstantContactError(
        'invalid-argument',
        `An import body of ${bytes} bytes reaches the ${importBatchLimits.maxBodyBytes}-byte limit; Constant Contact would silently drop what lies past 4 MB. Cut batches with cutImportBatches.`,
      );
    }
    const route = {
      method: 'POST',
      template: '/activities/contacts_json_import',
      idempotent: false,
      timeoutMs: this.timeouts.importMs,
      transfer: true,
    } as const;
    const response =
      typeof body === 'string'
        ? await this.call(route, (config) =>
            this.activities.createImportJSONActivity(body as unknown as CreateImportJSONActivityRequest, {
              ...config,
              // axios's default transform JSON.parses a string body to check it: up to 40,000
              // objects built and dropped per batch, for a body we serialized and measured ourselves.
              transformRequest: [(data: unknown) => data],
            }),
          )
        : // The generated client JSON-serializes any body that is not a string; bytes go as they are.
          await this.call(route, (config) =>
            this.http.request({
              ...config,
              method: 'POST',
              url: `${this.apiUrl}/activities/contacts_json_import`,
              data: body,
              headers: { ...config.headers, 'Content-Type': 'application/json' },
            }),
          );
    return toActivityReport(response.data);
  }

  /**
   * `POST /activities/remove_list_memberships` with `source.contact_ids`: removes up to 500 contacts
   * from 1 to 50 lists. Removing twice has the same effect as once, so it is retried like a GET.
   */
  async removeListMemberships(request: RemoveMembershipsRequest): Promise<ActivityReport> {
    checkCount('contact IDs to remove', request.contactIds.length, maxContactIdsPerRemoval);
    checkListIds(request.listIds);
    const body: ListActivityRemoveContacts = {
      source: { contact_ids: [...request.contactIds] },
      list_ids: [...request.listIds],
    };
    const response = await this.call(
      { method: 'POST', template: '/activities/remove_list_memberships' },
      (config) => this.activities.createListRemoveActivity(body, config),
    );
    return toActivityReport(response.data);
  }

  /** `GET /activities/{activity_id}`. An unknown (or expired: kept 10 days) activity: `not-found`. */
  async getActivity(activityId: string): Promise<ActivityReport> {
    const response = await this.call(
      { method: 'GET', template: '/activities/{activity_id}', ids: [activityId] },
      (config) => this.activities.getActivityById(activityId, config),
    );
    return toActivityReport(response.data);
  }

  /**
   * `GET /activities?limit=...&state=...`: one page of recent activities (default and most: 500), as
   * Constant Contact orders them. Used to find an import whose POST failed with `mayHaveSucceeded`.
   */
  async listActivities(
    options: {
      state?: 'processing' | 'completed' | 'cancelled' | 'failed' | 'timed_out';
      limit?: number;
    } = {},
  ): Promise<ActivityReport[]> {
    const limit = Math.min(options.limit ?? maxPageSize, maxPageSize);
    const response = await this.call({ method: 'GET', template: '/activities' }, (config) =>
      this.activities.getAllActivities(limit, options.state, config),
    );
    const activities = (response.data as Activities | undefined)?.activities;
    return Array.isArray(activities) ? activities.map(toActivityReport) : [];
  }

  /**
   * Polls `GET /activities/{id}` with growing delays until the activity is final (completed, failed,
   * timed_out, cancelled) and resolves with it, counters included. A failed, timed-out or cancelled
   * activity resolves too (`needsResubmit: true`): the engine decides. Rejects with
   * `activity-wait-timeout` after `activityPolling.timeoutMs`.
   */
  async waitForActivity(activityId: string, polling: Partial<ActivityPolling> = {}): Promise<ActivityReport> {
    const reports = await this.waitForActivities([activityId], polling);
    return reports.get(activityId) as ActivityReport;
  }

  /**
   * Waits for several activities with one request per polling round (`GET /activities?limit=500`)
   * instead of one per activity; an activity not on that page is polled on its own. Resolves with
   * every activity's final report, by activity ID.
   */
  async waitForActivities(
    activityIds: readonly string[],
    polling: Partial<ActivityPolling> = {},
  ): Promise<Map<string, ActivityReport>> {
    const settings = { ...this.polling, ...polling };
    const { clock } = this.environment;
    const deadline = clock.now() + settings.timeoutMs;
    const done = new Map<string, ActivityReport>();
    let pending = [...new Set(activityIds)];
    let delay = settings.initialDelayMs;
    for (;;) {
      for (const [id, report] of await this.pollActivities(pending)) if (report.final) done.set(id, report);
      pending = pending.filter((id) => !done.has(id));
      if (pending.length === 0) return done;
      if (clock.now() + delay > deadline) {
        throw new ConstantContactError(
          'activity-wait-timeout',
          `Activities ${pending.join(', ')} did not finish within ${settings.timeoutMs} ms`,
          {
            context: { pending: pending.length },
            hint: 'poll them again later with getActivity; they keep running',
          },
        );
      }
      await clock.sleep(delay);
      delay = Math.min(settings.maxDelayMs, Math.round(delay * settings.factor));
    }
  }

  /**
   * One polling round over several activities: `GET /activities/{id}` for a single one, else one
   * `GET /activities?limit=500` with `GET /activities/{id}` only for those not on that page. Resolves
   * with every activity's current report (final or not), by activity ID. For callers that keep
   * working between rounds (the run engine submits the next import while others run).
   */
  async pollActivities(activityIds: readonly string[]): Promise<Map<string, ActivityReport>> {
    const reports = new Map<string, ActivityReport>();
    const ids = [...new Set(activityIds)];
    if (ids.length === 1) {
      reports.set(ids[0] as string, await this.getActivity(ids[0] as string));
    } else if (ids.length > 1) {
      const page = new Map((await this.listActivities()).map((report) => [report.activityId, report]));
      for (const id of ids) reports.set(id, page.get(id) ?? (await this.getActivity(id)));
    }
    return reports;
  }

  /**
   * Pages through `GET /contacts?lists=<list_id>&limit=500`, following `_links.next.href`, and yields
   * each page's members. One request per 500 members: for large lists prefer `exportListMembers`.
   */
  async *pageListMembers(listId: string, options: { pageSize?: number } = {}): AsyncGenerator<ListMember[]> {
    const limit = Math.min(options.pageSize ?? maxPageSize, maxPageSize);
    let response = await this.call({ method: 'GET', template: '/contacts' }, (config) =>
      this.contacts.getAllContacts(
        undefined, // status: default, every contact that is not deleted
        undefined, // email
        listId,
        undefined, // segment_id
        undefined, // tags
        undefined, // updated_after
        undefined, // updated_before
        undefined, // created_after
        undefined, // created_before
        undefined, // optout_after
        undefined, // optout_before
        undefined, // include
        undefined, // sms_status
        undefined, // include_count
        limit,
        config,
      ),
    );
    for (;;) {
      const page = response.data as Contacts | undefined;
      const members: ListMember[] = [];
      for (const contact of page?.contacts ?? []) {
        const email = contact.email_address?.address;
        if (contact.contact_id && email) members.push({ contactId: contact.contact_id, email });
      }
      yield members;
      const next = page?._links?.next?.href;
      if (!next) return;
      // The next page is a link, not an operation of the generated client: follow it as is.
      const url = this.apiLink(next);
      response = await this.call(
        { method: 'GET', template: '/contacts', pathOverride: url.pathname },
        (config) => this.http.request({ ...config, method: 'GET', url: url.toString() }),
      );
    }
  }

  /**
   * Exports the list's members: `POST /activities/contact_exports` for the list, waits for the
   * activity, then downloads the CSV file from its `_links.results.href`. About 3 + polling requests
   * whatever the list's size (paging a 1,000,000-member list takes 2,000). `names`: the file also
   * carries first and last names.
   */
  async exportListMembers(
    listId: string,
    polling: Partial<ActivityPolling> = {},
    options: { names?: boolean } = {},
  ): Promise<ListMember[]> {
    const fields = options.names ? ['email_address', 'first_name', 'last_name'] : ['email_address'];
    const body: ContactsExport = { list_ids: [listId], fields };
    const response = await this.call({ method: 'POST', template: '/activities/contact_exports' }, (config) =>
      this.activities.createExportActivity(body, config),
    );
    const activity = await this.waitForActivity(toActivityReport(response.data).activityId, polling);
    if (activity.needsResubmit || !activity.resultsHref) {
      throw new ConstantContactError(
        'unexpected-response',
        `The export of list ${listId} ended ${activity.state}${activity.resultsHref ? '' : ' without a results link'}`,
        { context: { activityId: activity.activityId, listId } },
      );
    }
    const url = this.apiLink(activity.resultsHref);
    const file = await this.call(
      {
        method: 'GET',
        template: '/contact_exports/{file_export_id}',
        pathOverride: url.pathname,
        timeoutMs: this.timeouts.downloadMs,
        transfer: true,
      },
      (config) =>
        this.http.request({
          ...config,
          method: 'GET',
          url: url.toString(),
          responseType: 'text',
          headers: { ...config.headers, Accept: 'text/csv' },
        }),
    );
    return parseContactExportCsv(String(file.data));
  }

  /**
   * Maps the emails of a list's members (lower-cased) to their contact IDs, in bulk: by `paging`
   * (one request per 500 members) or by `export` (a few requests whatever the size). Never one
   * request per contact.
   */
  async emailsToContactIds(listId: string, method: MembershipReadMethod): Promise<Map<string, string>> {
    const map = new Map<string, string>();
    const add = (members: readonly ListMember[]) => {
      for (const member of members) map.set(member.email.toLowerCase(), member.contactId);
    };
    if (method === 'export') add(await this.exportListMembers(listId));
    else for await (const page of this.pageListMembers(listId)) add(page);
    return map;
  }

  /**
   * Runs one API call: limiter, fresh access token, the generated client's request, retry policy,
   * one refresh on 401, error mapping.
   */
  private async call(
    route: {
      method: 'GET' | 'POST';
      template: string;
      ids?: readonly string[];
      idempotent?: boolean;
      notFound?: ConstantContactErrorCode;
      timeoutMs?: number;
      /** An upload or download: its call gets at least one whole attempt (see RequestTimeouts). */
      transfer?: boolean;
      pathOverride?: string;
    },
    send: (config: RawAxiosRequestConfig) => Promise<AxiosResponse>,
  ): Promise<AxiosResponse> {
    let filled = route.template;
    for (const id of route.ids ?? []) filled = filled.replace(/\{[a-z_]+\}/, encodeURIComponent(id));
    const request: RequestDescription = {
      method: route.method,
      pathTemplate: route.template,
      path: route.pathOverride ?? `${this.apiPath}${filled}`,
    };
    let token: string | undefined;
    return sendWithRetries(
      {
        endpoint: 'api',
        request,
        idempotent: route.idempotent ?? true,
        limiter: this.limiter,
        attemptTimeoutMs: route.timeoutMs ?? this.timeouts.requestMs,
        transfer: route.transfer ?? false,
        send: async (timeoutMs) => {
          token = await this.tokens.accessToken();
          const config: RawAxiosRequestConfig = {
            ...this.directOptions,
            timeout: timeoutMs(),
            headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
          };
          return send(config);
        },
        onUnauthorized: async () => {
          await this.tokens.refresh(token);
        },
        toError: (failure) => this.apiError(request, failure, route.notFound),
      },
      this.environment,
    );
  }

  private apiError(
    request: RequestDescription,
    failure: FinalFailure,
    notFound: ConstantContactErrorCode = 'not-found',
  ): ConstantContactError {
    const options = {
      request,
      ...(failure.status === undefined ? {} : { status: failure.status }),
      ...errorText(failure),
      attempts: failure.attempts,
      sentAt: failure.sentAt,
      mayHaveSucceeded: failure.mayHaveSucceeded,
      context: { connection: this.connectionName },
    };
    const said = failure.errorKey
      ? `: ${failure.errorKey}${failure.errorMessage ? ` (${failure.errorMessage})` : ''}`
      : failure.errorMessage
        ? `: ${failure.errorMessage}`
        : '';
    const where = `${request.method} ${request.path}`;
    const tries = `${failure.attempts > 1 ? ` after ${failure.attempts} attempts` : ''}${
      failure.outOfTimeMs === undefined
        ? ''
        : ` (its request timeout of ${secondsText(failure.outOfTimeMs)} left no time to retry)`
    }`;
    const unreachable = {
      hint: `check that ${new URL(this.apiUrl).origin} (spec.endpoints.api of connection "${this.connectionName}") is reachable from here; a slow network may need a longer request timeout (exportctl --request-timeout)`,
    };
    const mayHave = failure.mayHaveSucceeded
      ? ' The request may have been carried out: check GET /activities before sending it again.'
      : '';
    switch (failure.kind) {
      case 'unauthorized':
        return new AuthError(
          'unauthorized',
          `Constant Contact refused the access token of connection "${this.connectionName}" on ${where} even after a refresh`,
          {
            ...options,
            hint: 'the authorisation may lack the contact_data scope; re-authorise the connection',
          },
        );
      case 'throttled':
        return new RateLimitError(
          'throttled',
          `${where} was throttled (429) on every attempt${tries}${said}`,
          {
            ...options,
            hint: 'another process may be using the same API key; lower limits.requestsPerSecond or run later',
          },
        );
      case 'timeout':
        return new ConstantContactError(
          'request-timeout',
          `${where} got no answer in time${tries}.${mayHave}`,
          { ...options, ...unreachable },
        );
      case 'connect-failed':
      case 'connection-lost':
        return new ConstantContactError(
          'network-error',
          `${where} failed: ${failure.networkCode ?? 'connection error'}${tries}.${mayHave}`,
          { ...options, ...unreachable },
        );
      case 'server-error':
      case 'unavailable':
        return new ConstantContactError(
          'server-error',
          `${where} failed: HTTP ${failure.status}${said}${tries}.${mayHave}`,
          options,
        );
      default:
        break;
    }
    const status = failure.status ?? 0;
    const code: ConstantContactErrorCode =
      status === 404
        ? notFound
        : status === 400
          ? 'bad-request'
          : status === 403
            ? 'forbidden'
            : status === 409
              ? 'conflict'
              : status === 415
                ? 'unsupported-media-type'
                : 'client-error';
    const hint =
      code === 'list-not-found'
        ? 'check the listId: in the web app it is the last part of the list page URL'
        : code === 'forbidden'
          ? 'the authorisation lacks a scope or privilege (contact_data, contacts:write), or the app is deactivated'
          : undefined;
    return new ConstantContactError(code, `${where} failed: HTTP ${status}${said}`, {
      ...options,
      ...(hint ? { hint } : {}),
    });
  }

  /**
   * A link from an answer (`_links.*.href`), resolved against the API. Only links to the API's own
   * origin are followed: the access token goes with them.
   */
  private apiLink(href: string): URL {
    const url = new URL(href, this.apiUrl);
    if (url.origin !== new URL(this.apiUrl).origin) {
      throw new ConstantContactError(
        'unexpected-response',
        `An answer links to ${url.origin}, outside the API (${new URL(this.apiUrl).origin}); it is not followed`,
      );
    }
    return url;
  }

  private expectObject<T>(response: AxiosResponse, key: string): T {
    const data = response.data as Record<string, unknown> | undefined;
    if (typeof data !== 'object' || data === null || !(key in data)) {
      throw new ConstantContactError('unexpected-response', `A ${response.status} answer has no ${key}`, {
        status: response.status,
      });
    }
    return data as T;
  }
}

function checkCount(what: string, count: number, max: number): void {
  if (count > max) {
    throw new ConstantContactError(
      'invalid-argument',
      `${count} ${what} exceed the ${max} one request takes`,
    );
  }
}

function checkListIds(listIds: readonly string[]): void {
  if (listIds.length === 0)
    throw new ConstantContactError('invalid-argument', 'An activity needs at least one list ID');
  checkCount('list IDs', listIds.length, maxListsPerActivity);
}
