import { type AccessSpec, roleOf } from '../config';
import { PermissionError, UsageError } from '../errors';
import type { StateStore } from '../state';

export interface ReauthorizeResult {
  readonly connection: string;
  /** False when no tokens were stored (the bootstrap token was already the one to be used). */
  readonly droppedTokens: boolean;
}

/**
 * Drops the stored OAuth token chain (rotated refresh token, cached access token) of an applied
 * connection, so that its next token refresh starts again from the bootstrap refresh token stored
 * when it was applied (what `spec.auth.refreshToken` referenced). Nothing else changes: not the
 * spec, not the stored secrets. Holds the connection's token-refresh lock while it does, so no
 * refresh is half-way; the caller holds the control-plane lock. When an Access is applied, only an
 * administrator may (as for any change of a Connection): PermissionError `actor-required` or
 * `permission-denied`. An unknown connection is UsageError `unknown-connection`.
 */
export async function reauthorizeConnection(
  store: StateStore,
  name: string,
  actor: string | undefined,
): Promise<ReauthorizeResult> {
  const connection = await store.resources.get('Connection', name);
  if (!connection) {
    const applied = (await store.resources.list({ kind: 'Connection' })).map((item) => item.name);
    throw new UsageError('unknown-connection', `Connection/${name} is not applied in ${store.location}`, {
      context: { connection: name, location: store.location },
      hint:
        applied.length > 0
          ? `name one of the applied connections: ${applied.join(', ')}`
          : 'no connection is applied there: check --state (or EXPORTCTL_STATE), or apply the connection first',
    });
  }
  const access = (await store.resources.list({ kind: 'Access' }))[0]?.spec as AccessSpec | undefined;
  if (access) {
    if (!actor) {
      throw new PermissionError(
        'actor-required',
        `reauthorizing Connection/${name} needs an identity for the role checks: administrators are ${access.administrators.join(', ')}`,
        {
          context: { connection: name },
          hint: 'name yourself with --as EMAIL or EXPORTCTL_ACTOR=EMAIL (or set git config user.email)',
        },
      );
    }
    const role = roleOf(access, actor);
    if (role !== 'administrator') {
      throw new PermissionError(
        'permission-denied',
        `${actor} is ${role === 'contributor' ? 'a contributor' : 'neither an administrator nor a contributor'}: only administrators may reauthorize Connection/${name}`,
        {
          context: { connection: name, actor },
          hint: `ask an administrator (${access.administrators.join(', ')}) to run it`,
        },
      );
    }
  }
  const droppedTokens = await store.tokens
    .forConnection(name)
    .withRefreshLock(() => store.tokens.delete(name));
  return { connection: name, droppedTokens };
}
