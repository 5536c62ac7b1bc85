import type { Connection, ConnectionSpec } from '../config';
import type { AppliedResource, ConnectionSecretName } from '../state';
import type { JsonObject } from '../state/spec-hash';
import { connectionRuntime } from './connection-runtime';
import { resolveConnectionSecrets } from './connection-secrets';
import { type FieldChange, fieldChanges } from './field-changes';
import type { ConnectionRuntime } from './remote-services';
import {
  type DesiredResource,
  type HandlerContext,
  type ObservedStatus,
  observedFailure,
  type ResourceHandler,
  readOnce,
  storeReady,
  toDiff,
} from './resource-handler';

/** Changing these changes which account/app the connection is: replace, do not update. */
const REPLACE_ON = ['spec.endpoints.api', 'spec.auth.clientId'];

/**
 * Connections: credentials are verified with one authenticated call before anything is stored; the
 * resolved secret values are stored encrypted; a rotated refresh token goes to the token store.
 */
export const connectionHandler: ResourceHandler<Connection> = {
  kind: 'Connection',
  replaceOn: REPLACE_ON,

  storedSpec(desired) {
    return desired.manifest.spec as unknown as JsonObject;
  },

  async diff(applied, desired, context) {
    const fields: FieldChange[] = [
      ...fieldChanges(applied?.spec, this.storedSpec(desired), { replaceOn: REPLACE_ON }, 'spec'),
    ];
    const stored = new Map(
      (applied ? await context.store.secrets.describe(applied.name) : []).map((item) => [
        item.name,
        item.fingerprint,
      ]),
    );
    for (const [name, value] of Object.entries(resolveConnectionSecrets(desired, context.env))) {
      const fingerprint = await context.store.secrets.fingerprint(value);
      if (stored.get(name as ConnectionSecretName) === fingerprint) continue;
      fields.push({
        path: `spec.auth.${name}`,
        ...(stored.has(name as ConnectionSecretName) ? { before: '(stored)' } : {}),
        after: '(new value)',
        sensitive: true,
        forcesReplacement: applied !== undefined && REPLACE_ON.includes(`spec.auth.${name}`),
      });
    }
    return toDiff(applied, fields);
  },

  async create(desired, context) {
    const secrets = resolveConnectionSecrets(desired, context.env);
    await context.constantContact.verifyAccess(runtimeFor(desired, secrets, context));
    return store(desired, secrets, context);
  },

  async update(_applied, desired, context) {
    const secrets = resolveConnectionSecrets(desired, context.env);
    // Re-verify every time: an update may change credentials, endpoints or limits, and a cached
    // token makes the check one cheap request.
    await context.constantContact.verifyAccess(runtimeFor(desired, secrets, context));
    return store(desired, secrets, context);
  },

  async delete(applied, context) {
    await context.store.resources.delete('Connection', applied.name, context.owner);
    await context.store.secrets.delete(applied.name);
    await context.store.tokens.delete(applied.name);
  },

  async read(applied, context): Promise<ObservedStatus> {
    try {
      await context.constantContact.verifyAccess(
        await readOnce(context, `Connection/${applied.name}`, () =>
          connectionRuntime(context.store, applied.name),
        ),
      );
      return { ready: true, reason: 'Verified', message: 'the credentials work' };
    } catch (error) {
      return observedFailure(error);
    }
  },
};

function runtimeFor(
  desired: DesiredResource<Connection>,
  secrets: Partial<Record<ConnectionSecretName, string>>,
  context: HandlerContext,
): ConnectionRuntime {
  const spec: ConnectionSpec = desired.manifest.spec;
  return {
    name: desired.manifest.metadata.name,
    endpoints: spec.endpoints,
    limits: spec.limits,
    clientId: typeof spec.auth.clientId === 'string' ? spec.auth.clientId : (secrets.clientId ?? ''),
    clientSecret: secrets.clientSecret ?? '',
    bootstrapRefreshToken: secrets.refreshToken ?? '',
    tokens: context.store.tokens.forConnection(desired.manifest.metadata.name),
  };
}

async function store(
  desired: DesiredResource<Connection>,
  secrets: Partial<Record<ConnectionSecretName, string>>,
  context: HandlerContext,
): Promise<AppliedResource> {
  const name = desired.manifest.metadata.name;
  for (const [field, value] of Object.entries(secrets)) {
    await context.store.secrets.put(name, field as ConnectionSecretName, value);
  }
  if (typeof desired.manifest.spec.auth.clientId === 'string')
    await context.store.secrets.delete(name, 'clientId');
  return storeReady(
    context,
    { kind: 'Connection', name, spec: connectionHandler.storedSpec(desired) },
    'the credentials work',
  );
}
