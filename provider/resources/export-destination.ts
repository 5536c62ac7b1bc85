import type * as pulumi from '@pulumi/pulumi';
import type { ExportDestinationSpec, ExportDestinationSpecInput } from '../../src/config';
import { ManifestResource, type ManifestResourceArgs } from './manifest-resource';

/**
 * Segments of a profile source exported to a Constant Contact list (an ExportDestination manifest).
 * Creating or updating it checks that the list exists in the connection's account and that the
 * source serves the mapped fields; a change of `spec.listId` or `spec.connection` replaces it, the
 * old one deleted first. Its connection and source must be applied first: pass them as outputs of
 * their resources (`connection: marketingCc.metadata.name`) or name them in `dependsOn`.
 */
export class ExportDestination extends ManifestResource<'ExportDestination', ExportDestinationSpec> {
  constructor(
    name: string,
    args: ManifestResourceArgs<ExportDestinationSpecInput>,
    opts?: pulumi.CustomResourceOptions,
  ) {
    super('ExportDestination', name, args, {}, opts);
  }
}
