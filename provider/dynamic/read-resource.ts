import type { ReadResult } from '@pulumi/pulumi/dynamic';
import { type ManifestKind, resourceId } from '../../src/config';
import { recordObservation, resourceHandlers } from '../../src/resources';
import { withProviderSession } from './provider-session';
import type { ProviderSettings } from './provider-settings';
import { assertOwnedByPulumi } from './pulumi-ownership';
import { resourceOutputs } from './resource-outputs';
import { type ManifestOutputs, nameFromId } from './resource-props';

/**
 * `read` (`pulumi refresh`): the resource as the state holds it, re-checked remotely by the handler
 * (credentials work, the list exists, the source is readable), as `exportctl plan --refresh` does.
 * What it finds is recorded as the resource's conditions (an observation, as `exportctl apply`
 * records it) and returned as `status`. A resource no longer in the state comes back with a blank
 * ID, which tells Pulumi it is gone. Takes no lock; a remote problem is a status, not an error.
 * A resource that exportctl or another stack owns (the stack is the one the outputs record) is
 * refused before it is read or anything recorded (`OwnershipError`, `owned-by-other`): a refresh
 * that kept it would let this stack go on sharing it silently, and one that dropped it (blank ID)
 * would hide that two stacks declare it. A legacy `pulumi` resource is read, not claimed: read
 * writes no owner.
 */
export async function readResource(
  kind: ManifestKind,
  settings: ProviderSettings,
  id: string,
  props: Partial<ManifestOutputs> = {},
): Promise<ReadResult<ManifestOutputs> & { id: string }> {
  const name = props.metadata?.name ?? nameFromId(kind, id);
  return withProviderSession(settings, {}, async ({ store, context }) => {
    const applied = await store.resources.get(kind, name);
    if (!applied) return { id: '' };
    assertOwnedByPulumi(
      applied,
      kind,
      name,
      typeof props.stack === 'string' ? props.stack : undefined,
      'read',
    );
    const observed = await resourceHandlers[kind].read(applied, context);
    await recordObservation(store, kind, name, observed);
    return {
      id: resourceId(kind, name),
      props: await resourceOutputs(applied, props, store, observed),
    };
  });
}
