import type * as pulumi from '@pulumi/pulumi';
import type { ExportDestinationSpec, ExportDestinationSpecInput } from '../../src/config';
import { ManifestResource, type ManifestResourceArgs } from './manifest-resource';

/**
 * Segments of a profile source exported to a Constant Contact list (an ExportDestination manifest).
 * Creating or updating it checks that the list exists in the connection's account and that the
 * source serves the mapped fields; a change of `spec.listId` or `spec.connection` replaces it, the
 * old one deleted first. Pass its connection and source as outputs of their resources
 * (`connection: marketingCc.metadata.name`, `source: profiles.metadata.name`), not as strings with
 * `dependsOn`: an output makes `spec` depend on that resource, so when the connection is replaced
 * (a new `spec.endpoints.api` or `spec.auth.clientId`, deleted first) the engine replaces this
 * destination too, deleting it before the connection. With `dependsOn` alone the engine deletes the
 * connection while this destination still uses it, the provider refuses (`resource-in-use`) and
 * `pulumi up` stops half-way.
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
