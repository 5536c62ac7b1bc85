import { createHash } from 'node:crypto';
import {
  type ApiLogger,
  ConstantContactClient,
  type ContactList,
  type OnApiRequest,
} from '../constant-contact';
import { createSourceInspector } from '../profiles/source-inspector';
import type { ResourceOwner, StateStore } from '../state';
import type { ConnectionRuntime, ConstantContactAccess } from './remote-services';
import type { HandlerContext } from './resource-handler';

export interface LiveHandlerContextOptions {
  readonly store: StateStore;
  readonly owner: ResourceOwner;
  readonly env: NodeJS.ProcessEnv;
  /** Called for every Constant Contact request (metrics, request counts). */
  readonly onRequest?: OnApiRequest;
  /** How Constant Contact calls are made: their request timeout, where retries are announced. */
  readonly requests?: RequestSettings;
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
    constantContact: constantContactAccess(options.onRequest, options.requests),
    sources: createSourceInspector(),
  };
}

/**
 * `ConstantContactAccess` over `ConstantContactClient`: one client per connection and credentials
 * (the process-wide rate limiter per API key is shared by all of them anyway). Make one per command
 * (plan, apply, a reconcile of watch mode): `getList` answers from one listing of the account's
 * lists per connection, read once (an account holds at most 1,000 lists, so planning 1,000
 * destinations costs one or two requests instead of 1,000 at 4 requests/second). A list that the
 * listing lacks is asked for directly, so a 404 is still Constant Contact's own answer.
 */
export function constantContactAccess(
  onRequest?: OnApiRequest,
  requests: RequestSettings = {},
): ConstantContactAccess {
  const clients = new Map<string, ConstantContactClient>();
  const listings = new Map<ConstantContactClient, Promise<Map<string, ContactList> | undefined>>();
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
      });
      clients.set(key, client);
    }
    return client;
  };
  return {
    async verifyAccess(connection) {
      await clientFor(connection).verifyCredentials();
    },
    async getList(connection, listId) {
      const client = clientFor(connection);
      let listing = listings.get(client);
      if (!listing) {
        listing = client.listLists().then(
          (lists) => new Map(lists.map((list) => [list.list_id.toLowerCase(), list])),
          () => undefined, // a failed listing is not an answer: ask for the list itself below
        );
        listings.set(client, listing);
      }
      const listed = (await listing)?.get(listId.toLowerCase());
      if (listed) return { id: listed.list_id, name: listed.name, membershipCount: listed.membership_count };
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
