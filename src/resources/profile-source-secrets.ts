import { join } from 'node:path';
import {
  isSecretReference,
  type ProfileSource,
  type ProfileSourceSpec,
  resolveSecretReference,
  type SecretReference,
} from '../config';
import { recordedSourceFolder, withPostgresUrl } from '../profiles';
import type { SecretName, SecretStore, StateStore } from '../state';
import type { DesiredResource } from './resource-handler';

/**
 * Where the state keeps a ProfileSource's database URL: in the secret store, encrypted like a
 * connection's secrets (AES-256-GCM, bound to its row), under the owner `ProfileSource/<name>` (a
 * name no Connection can have: theirs hold no `/`) and the name `databaseUrl`.
 */
export function sourceSecretOwner(name: string): string {
  return `ProfileSource/${name}`;
}

const urlSlot: SecretName = 'databaseUrl';

/**
 * The URL behind a declared source's `database` reference (postgres), read now from `env` or the
 * referenced file; undefined for a source without one. Throws `secret-unresolved` (naming the
 * reference, never a value).
 */
export function resolveSourceDatabaseUrl(
  desired: DesiredResource<ProfileSource>,
  env: NodeJS.ProcessEnv,
): string | undefined {
  const { spec, metadata } = desired.manifest;
  if (!isSecretReference(spec.database)) return undefined;
  return resolveSecretReference(spec.database as SecretReference, desired.file, env, {
    field: `ProfileSource/${metadata.name} database`,
    path: 'spec.database',
  });
}

/** Stores (or, for a source without a secret, deletes) the source's database URL, encrypted. */
export async function storeSourceDatabaseUrl(
  secrets: SecretStore,
  name: string,
  url: string | undefined,
): Promise<void> {
  if (url === undefined) await secrets.delete(sourceSecretOwner(name));
  else await secrets.put(sourceSecretOwner(name), urlSlot, url);
}

/** The stored fingerprint of the source's URL, if one is stored (no key needed). */
export async function storedSourceUrlFingerprint(
  secrets: SecretStore,
  name: string,
): Promise<string | undefined> {
  return (await secrets.describe(sourceSecretOwner(name))).find((item) => item.name === urlSlot)?.fingerprint;
}

/**
 * An applied source's spec holding the URL the state keeps for it (decrypted now), for a run or a
 * check to connect with (see `withPostgresUrl`); a spec without a secret reference as it is. When
 * no URL is stored the spec stays without one and a read says to apply the source again.
 */
export async function withStoredSourceSecrets(
  secrets: SecretStore,
  name: string,
  spec: ProfileSourceSpec,
): Promise<ProfileSourceSpec> {
  if (!isSecretReference(spec.database)) return spec;
  const url = await secrets.get(sourceSecretOwner(name), urlSlot);
  return url === undefined ? spec : withPostgresUrl(spec, url);
}

/**
 * For a preview (a plan's data plan, on a scratch copy of the state with the plan applied): the URL
 * the source's reference resolves to now, from `env` or its file (relative to the folder of the
 * manifest, which the source records), as the apply would store it; the stored one when it cannot be
 * resolved here. A source created or given a new URL by the plan has none stored yet.
 */
export async function withCurrentSourceSecrets(
  store: StateStore,
  env: NodeJS.ProcessEnv,
  name: string,
  spec: ProfileSourceSpec,
): Promise<ProfileSourceSpec> {
  if (!isSecretReference(spec.database)) return spec;
  const applied = await store.resources.get('ProfileSource', name);
  const folder = recordedSourceFolder(applied?.remoteFacts?.facts);
  try {
    const url = resolveSecretReference(
      spec.database as SecretReference,
      join(folder ?? '.', 'manifest'),
      env,
      {
        field: `ProfileSource/${name} database`,
      },
    );
    return withPostgresUrl(spec, url);
  } catch {
    return withStoredSourceSecrets(store.secrets, name, spec);
  }
}
