import type * as pulumi from '@pulumi/pulumi';
import type { RefreshSpec, RefreshSpecInput } from '../../src/config';
import { ManifestResource, type ManifestResourceArgs } from './manifest-resource';

/** The system's scheduled refresh (a Refresh manifest; at most one per state). */
export class Refresh extends ManifestResource<'Refresh', RefreshSpec> {
  constructor(
    name: string,
    args: ManifestResourceArgs<RefreshSpecInput>,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super('Refresh', name, args, {}, opts);
  }
}
