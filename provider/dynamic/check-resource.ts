import type { CheckFailure, CheckResult } from '@pulumi/pulumi/dynamic';
import { checkManifest, type ManifestKind, type Problem } from '../../src/config';
import { PULUMI_STACK_NAME } from '../../src/state/resource-owner';
import type { ManifestProps } from './resource-props';
import { isPathUnder, unknownPaths } from './unknown-values';

/** The result of `check`: the inputs to store (defaults filled in when valid) and every failure. */
export interface ManifestCheckResult extends CheckResult<ManifestProps> {
  readonly inputs: ManifestProps;
  readonly failures: CheckFailure[];
}

const SECRET_ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The input properties a resource of `kind` takes (the host adds and removes `__provider`). */
export function inputProperties(kind: ManifestKind): readonly string[] {
  const common = ['apiVersion', 'kind', 'metadata', 'spec', 'manifestFile', 'stack'];
  return kind === 'Connection' ? [...common, 'secretEnv'] : common;
}

/**
 * `check` of every exportctl kind: the manifest's schema and the rules one manifest can be checked
 * against alone (consent, endpoints, cron), as failures `{property, reason}` named by the field at
 * fault (`spec.dataMatching.email`). The rules across manifests (references, exportUser an
 * administrator, roles) are the program's: it validates the whole folder as `exportctl validate`
 * does before it declares anything. Values Pulumi does not know yet (a preview) are not judged.
 * Never throws; never echoes a secret value.
 */
export function checkResource(kind: ManifestKind, news: Record<string, unknown>): ManifestCheckResult {
  const { __provider: _provider, ...inputs } = news;
  const unknown = unknownPaths(inputs);
  const failures: CheckFailure[] = [];
  const fail = (property: string, reason: string) => {
    if (!unknown.some((path) => isPathUnder(property, path))) failures.push({ property, reason });
  };

  const allowed = inputProperties(kind);
  for (const key of Object.keys(inputs)) {
    if (!allowed.includes(key)) fail(key, `unknown property "${key}": a ${kind} takes ${allowed.join(', ')}`);
  }
  if (inputs.kind !== undefined && inputs.kind !== kind) {
    fail('kind', `kind must be ${kind} (or left out), not ${JSON.stringify(inputs.kind)}`);
  }
  if (inputs.manifestFile !== undefined && typeof inputs.manifestFile !== 'string') {
    fail('manifestFile', 'manifestFile must be the path of the manifest file');
  }
  if (
    inputs.stack !== undefined &&
    !(typeof inputs.stack === 'string' && PULUMI_STACK_NAME.test(inputs.stack))
  ) {
    fail('stack', 'stack must be the Pulumi stack as <organization>/<project>/<stack>');
  }
  if (inputs.secretEnv !== undefined) {
    const secretEnv = inputs.secretEnv;
    if (secretEnv === null || typeof secretEnv !== 'object' || Array.isArray(secretEnv)) {
      fail('secretEnv', 'secretEnv must map environment variable names to secret values');
    } else {
      // Names only: the values are secrets.
      for (const [name, value] of Object.entries(secretEnv)) {
        if (!SECRET_ENV_NAME.test(name)) fail(`secretEnv.${name}`, `"${name}" is not a variable name`);
        else if (typeof value !== 'string' || value === '')
          fail(`secretEnv.${name}`, `the value for ${name} must be a non-empty string`);
      }
    }
  }

  const checked = checkManifest({
    apiVersion: inputs.apiVersion ?? 'exportctl/v1',
    kind,
    metadata: inputs.metadata,
    spec: inputs.spec,
  });
  for (const problem of checked.problems) {
    if (problem.severity === 'error') fail(problem.path ?? '', reasonOf(problem));
  }
  const props = inputs as unknown as ManifestProps;
  if (!checked.manifest) return { inputs: props, failures };
  return {
    inputs: {
      ...props,
      apiVersion: 'exportctl/v1',
      kind,
      metadata: checked.manifest.metadata,
      spec: checked.manifest.spec as unknown as ManifestProps['spec'],
    },
    failures,
  };
}

function reasonOf(problem: Problem): string {
  return problem.hint ? `${problem.message} (${problem.hint})` : problem.message;
}
