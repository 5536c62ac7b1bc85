import type { ObservedStatus } from '../../src/resources';
import type { AppliedResource, SecretName, StateStore } from '../../src/state';
import type { ManifestOutputs, ManifestProps, ResourceStatus } from './resource-props';

/**
 * The outputs of an applied resource: what the state holds, with the metadata, manifest file and
 * stack of its inputs (the state keeps none of them as such). `observed` (a fresh read) wins over the stored Ready
 * condition. Secret values never appear: `secretEnv` is left out and a Connection's secrets show as
 * fingerprints.
 */
export async function resourceOutputs(
  applied: AppliedResource,
  props: Partial<ManifestProps>,
  store: StateStore,
  observed?: ObservedStatus,
): Promise<ManifestOutputs> {
  const fingerprints: Partial<Record<SecretName, string>> = {};
  if (applied.kind === 'Connection') {
    for (const secret of await store.secrets.describe(applied.name))
      fingerprints[secret.name] = secret.fingerprint;
  }
  const facts = observed?.facts ?? applied.remoteFacts?.facts;
  return {
    apiVersion: 'exportctl/v1',
    kind: applied.kind,
    metadata: { ...props.metadata, name: applied.name },
    spec: applied.spec,
    ...(props.manifestFile === undefined ? {} : { manifestFile: props.manifestFile }),
    owner: applied.owner,
    ...(props.stack === undefined ? {} : { stack: props.stack }),
    generation: applied.generation,
    specHash: applied.specHash,
    status: observed ? statusOf(observed) : storedStatus(applied),
    ...(facts === undefined ? {} : { remoteFacts: facts }),
    ...(applied.kind === 'Connection' ? { secretFingerprints: fingerprints } : {}),
  };
}

function statusOf(observed: ObservedStatus): ResourceStatus {
  return { ready: observed.ready, reason: observed.reason, message: observed.message };
}

function storedStatus(applied: AppliedResource): ResourceStatus {
  const ready = applied.conditions.find((condition) => condition.type === 'Ready');
  return ready
    ? { ready: ready.status, reason: ready.reason, message: ready.message }
    : { ready: false, reason: 'Unknown', message: 'no Ready condition has been recorded' };
}
