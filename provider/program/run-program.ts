import type * as pulumi from '@pulumi/pulumi';
import type { ResourceStatus } from '../dynamic/resource-props';
import { declareManifests } from './declare-manifests';
import { readStackSettings } from './stack-settings';

/** The stack outputs: each resource's status, keyed `Kind/name` (`pulumi stack output resources`). */
export interface ProgramOutputs {
  readonly resources: Record<string, pulumi.Output<ResourceStatus>>;
}

/**
 * The program Pulumi.yaml runs: the stack config in, one resource per manifest out. Throws
 * `ManifestsInvalidError` when the manifests do not validate (nothing is declared then).
 */
export function runProgram(): ProgramOutputs {
  const { resources } = declareManifests(readStackSettings());
  return {
    resources: Object.fromEntries([...resources].map(([id, resource]) => [id, resource.status])),
  };
}
