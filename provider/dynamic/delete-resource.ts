import type { ManifestKind } from '../../src/config';
import { ResourceVerificationError, resourceHandlers } from '../../src/resources';
import type { AppliedResource, StateStore } from '../../src/state';
import { withProviderSession } from './provider-session';
import type { ProviderSettings } from './provider-settings';
import { assertOwnedByPulumi, stackOwner } from './pulumi-ownership';
import { type ManifestOutputs, nameFromId } from './resource-props';

/**
 * `delete`: the handler's delete (the resource, and a connection's secrets and tokens), holding the
 * control-plane lock. Already gone: nothing to do. The stack that asks is the one its outputs record
 * (`stack`; none in outputs written before stack ownership). Refused, with nothing deleted, when
 * exportctl or another stack owns the resource (`OwnershipError`, `owned-by-other`: destroying one
 * stack never deletes another's; outputs that record no stack may delete only a legacy `pulumi`
 * resource, never one a stack has claimed) or when it is a connection or source that a
 * destination in the state still uses (`ResourceVerificationError`, `resource-in-use`): Pulumi
 * deletes the destinations that depend on it first, so this only stops a delete that would strand a
 * destination Pulumi does not manage.
 */
export async function deleteResource(
  kind: ManifestKind,
  settings: ProviderSettings,
  id: string,
  props: Partial<ManifestOutputs>,
): Promise<void> {
  const name = props.metadata?.name ?? nameFromId(kind, id);
  const stack = typeof props.stack === 'string' ? props.stack : undefined;
  const owner = stackOwner(stack);
  await withProviderSession(settings, { lock: `pulumi: delete ${id}`, owner }, async ({ store, context }) => {
    const applied = await store.resources.get(kind, name);
    if (!applied) return;
    assertOwnedByPulumi(applied, kind, name, stack, 'delete');
    await assertNotInUse(applied, store);
    await resourceHandlers[kind].delete(applied, context);
  });
}

async function assertNotInUse(applied: AppliedResource, store: StateStore): Promise<void> {
  const field =
    applied.kind === 'Connection' ? 'connection' : applied.kind === 'ProfileSource' ? 'source' : undefined;
  if (!field) return;
  const users = (await store.resources.list({ kind: 'ExportDestination' })).filter(
    (destination) => destination.spec[field] === applied.name,
  );
  if (users.length === 0) return;
  const ids = users.map((user) => `ExportDestination/${user.name} (${user.owner})`);
  throw new ResourceVerificationError(
    'resource-in-use',
    `${applied.kind}/${applied.name} cannot be deleted: ${ids.join(', ')} still use${users.length === 1 ? 's' : ''} it`,
    {
      context: { resource: `${applied.kind}/${applied.name}` },
      hint: 'delete those destinations first (or point them elsewhere), then run pulumi up again',
    },
  );
}
