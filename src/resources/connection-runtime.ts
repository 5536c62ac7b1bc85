import type { ConnectionSpec } from '../config';
import type { StateStore } from '../state';
import type { ConnectionRuntime } from './remote-services';
import { ResourceVerificationError } from './resource-errors';

/**
 * The runtime of an applied connection, from the state alone: its stored spec and the decrypted
 * values of its secret references. Runs and destination checks use this, so they need no manifest
 * and no environment variables once the connection is applied.
 */
export async function connectionRuntime(store: StateStore, name: string): Promise<ConnectionRuntime> {
  const applied = await store.resources.get('Connection', name);
  if (!applied) {
    throw new ResourceVerificationError('dependency-not-applied', `Connection/${name} is not applied`, {
      context: { connection: name },
      hint: `apply the connection first (exportctl apply PATH with the file that declares Connection/${name})`,
    });
  }
  const spec = applied.spec as unknown as ConnectionSpec;
  const secret = async (field: 'clientId' | 'clientSecret' | 'refreshToken') => {
    const value = await store.secrets.get(name, field);
    if (value === undefined) {
      throw new ResourceVerificationError(
        'dependency-not-applied',
        `Connection/${name} has no stored ${field}`,
        {
          context: { connection: name, field },
          hint: 'apply the connection again: its secrets are stored when it is applied',
        },
      );
    }
    return value;
  };
  return {
    name,
    endpoints: spec.endpoints,
    limits: spec.limits,
    clientId: typeof spec.auth.clientId === 'string' ? spec.auth.clientId : await secret('clientId'),
    clientSecret: await secret('clientSecret'),
    bootstrapRefreshToken: await secret('refreshToken'),
    tokens: store.tokens.forConnection(name),
  };
}
