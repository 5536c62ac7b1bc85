import { createHash } from 'node:crypto';
import {
  type ApiLogger,
  ConstantContactClient,
  type ContactList,
  type OnApiRequest,
  type RateLimiterRegistry,
} from '../constant-contact';
import { ExportctlError } from '../errors';
import { createSourceInspector } from '../profiles/source-inspector';
import type { ResourceOwner, StateStore } from '../state';
import { isCredentialRejection } from './failure-reason';
import type { ConnectionRuntime, ConstantContactAccess, CustomFieldFacts } from './remote-services';
import type { HandlerContext } from './resource-handler';

export interface LiveHandlerContextOptions {
  readonly store: StateStore;
  readonly owner: ResourceOwner;
  readonly env: NodeJS.ProcessEnv;
  /** Called for every Constant Contact request (metrics, request counts). */
  readonly onRequest?: OnApiRequest;
  /** How Constant Contact calls are made: their request timeout, where retries are announced. */
  readonly requests?: RequestSettings;
  /**
   * Listings of lists in flight, shared with the other contexts given the same object (the Pulumi
   * provider's parallel calls in one process). Absent: this context's own, as for a CLI command.
   */
  readonly sharedListings?: SharedListings;
  /**
   * The rate limiters of the API keys: the state's (the wiring's `rateLimitersFor`), so reconcile
   * requests count with those of every other process using the state. Absent: this process's only.
   */
  readonly rateLimiters?: RateLimiterRegistry;
}

/**
 * The account listings that contexts sharing it have asked for and not yet been answered, by
 * connection and credentials. A context that needs a listing another one is waiting for waits for
 * the same answer instead of sending its own request: a request started before it asked, which is
 * why only listings in flight are shared (a list the answer lacks is still asked for directly).
 */
export type SharedListings = Map<string, Promise<Listing>>;

/** A new, empty {@link SharedListings}. */
export function sharedListings(): SharedListings {
  return new Map();
}

/** The settings of every Constant Contact client a handler context makes. */
export interface RequestSettings {
  /** One call's whole time, retries included (the client's `timeouts.callMs`). */
  readonly timeoutMs?: number;
  /** Gets the client's log events, retry notices among them. */
  readonly logger?: ApiLogger;
}

/** The handlers' context with the real Constant Contact client and the real source checks. */
export function createHandlerContext(options: LiveHandlerContextOptions): HandlerContext {
  return {
    store: options.store,
    owner: options.owner,
    env: options.env,
    constantContact: constantContactAccess(
      options.onRequest,
      options.requests,
      options.sharedListings,
      options.rateLimiters,
    ),
    sources: createSourceInspector(),
  };
}

/**
 * `ConstantContactAccess` over `ConstantContactClient`: one client per connection and credentials
 * (the process-wide rate limiter per API key is shared by all of them anyway). Make one per command
 * (plan, apply, a reconcile of watch mode): `verifyAccess` and `getList` answer from one listing of
 * the account's lists per connection, read once (an account holds at most 1,000 lists, so planning
 * 1,000 destinations costs one or two requests instead of 1,000 at 4 requests/second). The listing
 * is an authenticated request, so a token the state holds but Constant Contact revoked fails the
 * check (obtaining a token alone would not: a stored one is used without asking). A list that the
 * listing lacks is asked for directly, so a 404 is still Constant Contact's own answer; a listing
 * refused for the credentials or left unanswered answers for every list of the connection.
 * Given `shared`, a listing another context is waiting for is waited for instead of asked again.
 * Given `rateLimiters` (the state's), its clients' requests count with other processes' on the key.
 */
export function constantContactAccess(
  onRequest?: OnApiRequest,
  requests: RequestSettings = {},
  shared?: SharedListings,
  rateLimiters?: RateLimiterRegistry,
): ConstantContactAccess {
  const clients = new Map<string, ConstantContactClient>();
  const keys = new Map<ConstantContactClient, string>();
  const listings = new Map<ConstantContactClient, Promise<Listing>>();
  const customFieldListings = new Map<ConstantContactClient, Promise<CustomFieldFacts[]>>();
  const listingOf = (client: ConstantContactClient) => {
    let listing = listings.get(client);
    if (!listing) {
      const key = keys.get(client) ?? '';
      listing = shared?.get(key);
      if (!listing) {
        const asked = client.listLists().then(
          (lists): Listing => ({ lists: new Map(lists.map((list) => [list.list_id.toLowerCase(), list])) }),
          (error: unknown): Listing => ({ error }),
        );
        shared?.set(key, asked);
        void asked.then(() => {
          if (shared?.get(key) === asked) shared.delete(key);
        });
        listing = asked;
      }
      listings.set(client, listing);
    }
    return listing;
  };
  const clientFor = (connection: ConnectionRuntime) => {
    // Keyed by everything that makes a different client; hashed so no secret is kept as a map key.
    const key = createHash('sha256')
      .update(
        JSON.stringify([
          connection.name,
          connection.endpoints,
          connection.limits,
          connection.clientId,
          connection.clientSecret,
          connection.bootstrapRefreshToken,
        ]),
      )
      .digest('hex');
    let client = clients.get(key);
    if (!client) {
      client = new ConstantContactClient({
        connectionName: connection.name,
        credentials: {
          clientId: connection.clientId,
          clientSecret: connection.clientSecret,
          bootstrapRefreshToken: connection.bootstrapRefreshToken,
        },
        tokenStore: connection.tokens,
        endpoints: connection.endpoints,
        limits: connection.limits,
        ...(onRequest ? { onRequest } : {}),
        ...(requests.timeoutMs === undefined ? {} : { timeouts: { callMs: requests.timeoutMs } }),
        ...(requests.logger ? { logger: requests.logger } : {}),
        ...(rateLimiters ? { rateLimiters } : {}),
      });
      clients.set(key, client);
      keys.set(client, key);
    }
    return client;
  };
  return {
    async verifyAccess(connection) {
      const listing = await listingOf(clientFor(connection));
      if ('error' in listing) throw listing.error;
    },
    async customFields(connection) {
      const client = clientFor(connection);
      let listing = customFieldListings.get(client);
      if (!listing) {
        listing = client
          .listCustomFields()
          .then((fields) => fields.map((field) => ({ name: field.name ?? field.label, type: field.type })));
        customFieldListings.set(client, listing);
      }
      return listing;
    },
    async getList(connection, listId) {
      const client = clientFor(connection);
      const listing = await listingOf(client);
      if ('lists' in listing) {
        const listed = listing.lists.get(listId.toLowerCase());
        if (listed)
          return { id: listed.list_id, name: listed.name, membershipCount: listed.membership_count };
      } else if (failsEveryCall(listing.error)) {
        // Asking for the list would fail the same way, after retries of its own.
        throw listing.error;
      }
      // Otherwise a failed listing is not an answer (a bad page link, say): ask for the list itself.
      try {
        const list = await client.getList(listId);
        return { id: list.list_id, name: list.name, membershipCount: list.membership_count };
      } catch (error) {
        if ((error as { code?: unknown })?.code === 'list-not-found') return undefined;
        throw error;
      }
    },
  };
}

/** One listing of a connection's lists, or why it failed. */
export type Listing = { readonly lists: ReadonlyMap<string, ContactList> } | { readonly error: unknown };

/** A failure of the connection, not of one request: refused credentials, or no answer. */
function failsEveryCall(error: unknown): boolean {
  const code = error instanceof ExportctlError ? error.code : undefined;
  return (
    isCredentialRejection(error) ||
    code === 'network-error' ||
    code === 'request-timeout' ||
    code === 'token-request-failed'
  );
}
