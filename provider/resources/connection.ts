import * as pulumi from '@pulumi/pulumi';
import type { ConnectionSpec, ConnectionSpecInput } from '../../src/config';
import type { ConnectionSecretName } from '../../src/state';
import { ManifestResource, type ManifestResourceArgs } from './manifest-resource';

/** The outputs Pulumi must keep secret on a Connection, whatever the engine infers. */
export const connectionSecretOutputs = ['secretEnv', 'secretFingerprints'] as const;

export interface ConnectionArgs extends ManifestResourceArgs<ConnectionSpecInput> {
  /**
   * Values for `spec.auth`'s `{env: NAME}` references, for secrets kept in stack config rather than
   * in the environment of the process that runs the provider; they win over that environment. Always
   * sent as a Pulumi secret and never returned in the outputs. `{file}` references are read from
   * their files, as `exportctl apply` reads them.
   */
  readonly secretEnv?: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

/**
 * A connection to a Constant Contact account (a Connection manifest). Creating or updating it
 * proves the credentials with one API call, then stores the resolved secrets encrypted in the
 * exportctl state; a change of `spec.endpoints.api` or `spec.auth.clientId` replaces it, the old one
 * deleted first (with the destinations that depend on it).
 */
export class Connection extends ManifestResource<'Connection', ConnectionSpec> {
  /** Keyed fingerprints of the stored secret values: they change when a secret does. Secret. */
  declare readonly secretFingerprints: pulumi.Output<Partial<Record<ConnectionSecretName, string>>>;

  constructor(name: string, args: ConnectionArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      'Connection',
      name,
      args,
      {
        ...(args.secretEnv === undefined ? {} : { secretEnv: pulumi.secret(args.secretEnv) }),
        secretFingerprints: undefined,
      },
      {
        ...opts,
        additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...connectionSecretOutputs],
      },
    );
  }
}
