import { type Connection, isSecretReference, resolveSecretReference, type SecretReference } from '../config';
import type { ConnectionSecretName } from '../state';
import type { DesiredResource } from './resource-handler';

/**
 * The values behind a declared connection's secret references (a literal clientId is not a secret),
 * read now from `env` or the referenced files. Throws `secret-unresolved` (naming the reference,
 * never a value) when one cannot be read. Apply stores these; a saved plan keeps their fingerprints.
 */
export function resolveConnectionSecrets(
  desired: DesiredResource<Connection>,
  env: NodeJS.ProcessEnv,
): Partial<Record<ConnectionSecretName, string>> {
  const { auth } = desired.manifest.spec;
  const id = `Connection/${desired.manifest.metadata.name}`;
  const out: Partial<Record<ConnectionSecretName, string>> = {};
  const references: [ConnectionSecretName, unknown][] = [
    ['clientId', auth.clientId],
    ['clientSecret', auth.clientSecret],
    ['refreshToken', auth.refreshToken],
  ];
  for (const [name, reference] of references) {
    if (isSecretReference(reference)) {
      out[name] = resolveSecretReference(reference as SecretReference, desired.file, env, {
        field: `${id} auth.${name}`,
        path: `spec.auth.${name}`,
      });
    }
  }
  return out;
}
