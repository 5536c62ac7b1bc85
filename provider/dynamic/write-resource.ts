import type { CreateResult, UpdateResult } from '@pulumi/pulumi/dynamic';
import { type ManifestKind, resourceId } from '../../src/config';
import { ValidationError } from '../../src/errors';
import { resourceHandlers } from '../../src/resources';
import type { AppliedResource } from '../../src/state';
import { checkResource } from './check-resource';
import { type ProviderSession, withProviderSession } from './provider-session';
import type { ProviderSettings } from './provider-settings';
import { assertOwnedByPulumi, stackOwner } from './pulumi-ownership';
import { resourceOutputs } from './resource-outputs';
import { desiredFromProps, type ManifestOutputs, type ManifestProps } from './resource-props';
import { verifyBeforeLock } from './verify-before-lock';

/**
 * `create`: the handler's create, holding the control-plane lock, with owner `pulumi:<stack>` (the
 * input `stack`; `pulumi` when it names none). The handler verifies first (credentials work, the
 * list exists, the source is readable) and stores nothing if that fails, so a failed create leaves
 * nothing behind, in the state or in Pulumi's. A resource of that kind and name that this stack
 * already owns (left by an interrupted `pulumi up`) is updated to the inputs instead of refused, so a
 * retry converges; a legacy `pulumi` one is claimed for the stack the same way. Throws
 * `ValidationError` (`invalid-inputs`) for inputs that fail `check`, `OwnershipError`
 * (`owned-by-other`) when exportctl or another stack owns the resource (then nothing changed),
 * `LockTimeoutError`, and the handler's errors (`ResourceVerificationError`, `SecretResolutionError`,
 * the Constant Contact client's).
 */
export async function createResource(
  kind: ManifestKind,
  settings: ProviderSettings,
  inputs: ManifestProps,
): Promise<CreateResult<ManifestOutputs> & { id: string; outs: ManifestOutputs }> {
  const props = checkedProps(kind, inputs);
  const id = resourceId(kind, props.metadata.name);
  return withProviderSession(
    settings,
    {
      lock: `pulumi: create ${id}`,
      secretEnv: props.secretEnv,
      owner: stackOwner(props.stack),
      beforeLock: (session) => verifyBeforeLock(kind, props, settings, session, 'create'),
    },
    async (session) => ({ id, outs: await applyProps(kind, props, settings, session, 'create') }),
  );
}

/**
 * `update`: the handler's update, holding the control-plane lock. If the resource has vanished from
 * the state, it is created again. If this call fails, the resource is as it was (the handler verifies
 * before it stores). Throws as {@link createResource}.
 */
export async function updateResource(
  kind: ManifestKind,
  settings: ProviderSettings,
  id: string,
  news: ManifestProps,
): Promise<UpdateResult<ManifestOutputs> & { outs: ManifestOutputs }> {
  const props = checkedProps(kind, news);
  return withProviderSession(
    settings,
    {
      lock: `pulumi: update ${id}`,
      secretEnv: props.secretEnv,
      owner: stackOwner(props.stack),
      beforeLock: (session) => verifyBeforeLock(kind, props, settings, session, 'update'),
    },
    async (session) => ({ outs: await applyProps(kind, props, settings, session, 'update') }),
  );
}

async function applyProps(
  kind: ManifestKind,
  props: ManifestProps,
  settings: ProviderSettings,
  session: ProviderSession,
  action: 'create' | 'update',
): Promise<ManifestOutputs> {
  const { store, context } = session;
  const name = props.metadata.name;
  const existing = await store.resources.get(kind, name);
  assertOwnedByPulumi(existing, kind, name, props.stack, action);
  // The session writes as the stack, which the store lets claim a legacy `pulumi` resource (the
  // handler's put records the new owner, spec changed or not).
  const desired = desiredFromProps(kind, props, settings.root);
  const handler = resourceHandlers[kind];
  const applied: AppliedResource = existing
    ? await handler.update(existing, desired, context)
    : await handler.create(desired, context);
  return resourceOutputs(applied, props, store);
}

/** The inputs with defaults filled in; throws if they fail `check` (a caller that skipped it). */
function checkedProps(kind: ManifestKind, inputs: ManifestProps): ManifestProps {
  const checked = checkResource(kind, inputs as unknown as Record<string, unknown>);
  if (checked.failures.length > 0) {
    throw new ValidationError(
      'invalid-inputs',
      `${kind} inputs are not valid: ${checked.failures.map((failure) => `${failure.property}: ${failure.reason}`).join('; ')}`,
      { context: { kind }, hint: 'fix the manifest; `pulumi preview` runs the same checks' },
    );
  }
  const { __provider: _provider, ...props } = checked.inputs as ManifestProps & { __provider?: unknown };
  return props;
}
