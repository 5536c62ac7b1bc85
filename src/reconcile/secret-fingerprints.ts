import { type LoadedManifest, ofKind } from '../config';
import {
  desiredFrom,
  type HandlerContext,
  resolveConnectionSecrets,
  resolveSourceDatabaseUrl,
} from '../resources';

/**
 * The fingerprint of every secret value the declared connections' references resolve to now, by
 * `Connection/<name> spec.auth.<field>`, and of every postgres source's URL, by
 * `ProfileSource/<name> spec.database`. A fingerprint is the state's keyed HMAC of the value (see
 * `SecretStore.fingerprint`): equal exactly when the value is, and useless without the state's key,
 * so a plan file can carry it where the value must never be. Throws `secret-unresolved`.
 */
export async function secretFingerprints(
  manifests: readonly LoadedManifest[],
  context: HandlerContext,
): Promise<Record<string, string>> {
  const fingerprints: Record<string, string> = {};
  for (const item of ofKind(manifests, 'Connection')) {
    const values = resolveConnectionSecrets(desiredFrom(item), context.env);
    for (const [name, value] of Object.entries(values)) {
      fingerprints[`${item.id} spec.auth.${name}`] = await context.store.secrets.fingerprint(value);
    }
  }
  for (const item of ofKind(manifests, 'ProfileSource')) {
    const url = resolveSourceDatabaseUrl(desiredFrom(item), context.env);
    if (url !== undefined)
      fingerprints[`${item.id} spec.database`] = await context.store.secrets.fingerprint(url);
  }
  return fingerprints;
}
