import type { ManifestKind } from '../../src/config';
import { resourceHandlers } from '../../src/resources';
import type { ProviderSession } from './provider-session';
import type { ProviderSettings } from './provider-settings';
import { assertOwnedByPulumi, type ProviderAction } from './pulumi-ownership';
import { desiredFromProps, type ManifestProps } from './resource-props';

/**
 * The remote checks of a create or update, made before the control-plane lock is taken (the
 * session's `beforeLock`), for a kind whose handler can verify without writing (a destination: its
 * list exists, its source is readable). `pulumi up` runs its creates in parallel and each holds the
 * lock; verified here, a create waits on Constant Contact's rate limit without the lock, and holds
 * it only to check again, from the answers read here, against the state as it is then, and store.
 * Refuses first, without a request, what exportctl or another stack owns (`OwnershipError`,
 * `owned-by-other`);
 * throws the handler's errors (`ResourceVerificationError`, the Constant Contact client's), and
 * then nothing was stored or locked. Kinds without `verify` are checked under the lock, as before.
 */
export async function verifyBeforeLock(
  kind: ManifestKind,
  props: ManifestProps,
  settings: ProviderSettings,
  { store, context }: ProviderSession,
  action: ProviderAction,
): Promise<void> {
  const handler = resourceHandlers[kind];
  if (!handler.verify) return;
  const name = props.metadata.name;
  assertOwnedByPulumi(await store.resources.get(kind, name), kind, name, props.stack, action);
  await handler.verify(desiredFromProps(kind, props, settings.root), context);
}
