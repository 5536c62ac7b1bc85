import { createHash } from 'node:crypto';
import { ConstantContactClient, type OnApiRequest } from '../constant-contact';
import { profileSourceInspector } from '../profiles/source-inspector';
import type { ResourceOwner, StateStore } from '../state';
import type { ConnectionRuntime, ConstantContactAccess } from './remote-services';
import type { HandlerContext } from './resource-handler';

export interface LiveHandlerContextOptions {
  readonly store: StateStore;
  readonly owner: ResourceOwner;
  readonly env: NodeJS.ProcessEnv;
  /** Called for every Constant Contact request (metrics, request counts). */
  readonly onRequest?: OnApiRequest;
}

/** The handlers' context with the real Constant Contact client and the real source checks. */
export function createHandlerContext(options: LiveHandlerContextOptions): HandlerContext {
  return {
    store: options.store,
    owner: options.owner,
    env: options.env,
    constantContact: constantContactAccess(options.onRequest),
    sources: profileSourceInspector,
  };
}

/**
 * `ConstantContactAccess` over `ConstantContactClient`: one client per connection and credentials
 * (the process-wide rate limiter per API key is shared by all of them anyway).
 */
export function constantContactAccess(onRequest?: OnApiRequest): ConstantContactAccess {
  const clients = new Map<string, ConstantContactClient>();
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
      try {
        const list = await clientFor(connection).getList(listId);
        return { id: list.list_id, name: list.name, membershipCount: list.membership_count };
      } catch (error) {
        if ((error as { code?: unknown })?.code === 'list-not-found') return undefined;
        throw error;
      }
    },
  };
}
