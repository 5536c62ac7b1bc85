import type { ReadResult } from '@pulumi/pulumi/dynamic';
import type { ManifestKind } from '../../src/config';
import { readyConditions, resourceHandlers, stalledConditions } from '../../src/resources';
import { withProviderSession } from './provider-session';
import type { ProviderSettings } from './provider-settings';
import { resourceOutputs } from './resource-outputs';
import { type ManifestOutputs, nameFromId, resourceIdOf } from './resource-props';

/**
 * `read` (`pulumi refresh`): the resource as the state holds it, re-checked remotely by the handler
 * (credentials work, the list exists, the source is readable), as `exportctl plan --refresh` does.
 * What it finds is recorded as the resource's conditions (an observation, as `exportctl apply`
 * records it) and returned as `status`. A resource no longer in the state comes back with a blank
 * ID, which tells Pulumi it is gone. Takes no lock; a remote problem is a status, not an error.
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
    const observed = await resourceHandlers[kind].read(applied, context);
    const conditions = observed.ready
      ? readyConditions(observed.message)
      : stalledConditions(observed.reason, observed.message);
    // Best effort, as apply records observations: a failed status write must not fail the refresh.
    await store.resources.setConditions(kind, name, conditions).catch(() => undefined);
    if (observed.facts)
      await store.resources.setRemoteFacts(kind, name, observed.facts).catch(() => undefined);
    return {
      id: resourceIdOf(kind, name),
      props: await resourceOutputs(applied, props, store, observed),
    };
  });
}
