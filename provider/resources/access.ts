import type * as pulumi from '@pulumi/pulumi';
import type { AccessSpec, AccessSpecInput } from '../../src/config';
import { ManifestResource, type ManifestResourceArgs } from './manifest-resource';

/**
 * Who is who (an Access manifest; at most one per state). `exportctl plan` and `apply` judge roles
 * by the applied Access, whoever applied it.
 */
export class Access extends ManifestResource<'Access', AccessSpec> {
  constructor(
    name: string,
    args: ManifestResourceArgs<AccessSpecInput>,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super('Access', name, args, {}, opts);
  }
}
