import type * as pulumi from '@pulumi/pulumi';
import type { ProfileSourceSpec, ProfileSourceSpecInput } from '../../src/config';
import { ManifestResource, type ManifestResourceArgs } from './manifest-resource';

/**
 * Where profiles and their segment membership are read (a ProfileSource manifest). Creating or
 * updating it checks that the files or tables exist and have the key column.
 */
export class ProfileSource extends ManifestResource<'ProfileSource', ProfileSourceSpec> {
  constructor(
    name: string,
    args: ManifestResourceArgs<ProfileSourceSpecInput>,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super('ProfileSource', name, args, {}, opts);
  }
}
