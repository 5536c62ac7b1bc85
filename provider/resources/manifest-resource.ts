import { isAbsolute, resolve } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import type { ManifestKind, Metadata, MetadataInput } from '../../src/config';
import type { ResourceOwner } from '../../src/state';
import type { JsonObject } from '../../src/state/spec-hash';
import { kindProviders } from '../dynamic/kind-providers';
import type { ResourceStatus } from '../dynamic/resource-props';
import { pulumiStackName } from '../program/stack-settings';
import type { InputShape } from './input-shape';
import { projectFolder } from './project-folder';

/** What every exportctl resource takes: its manifest as written, without apiVersion and kind. */
export interface ManifestResourceArgs<Spec> {
  /** Labels and annotations; `name` defaults to the resource's Pulumi name. */
  readonly metadata?: InputShape<Partial<MetadataInput>>;
  /** The spec as a manifest holds it (`*Input` types: schema defaults may be left out). */
  readonly spec: InputShape<Spec>;
  /**
   * The manifest file this resource comes from: relative profile paths and `{file}` secret references
   * are relative to its folder. A relative value is relative to the Pulumi project folder; absent,
   * paths are relative to the project folder.
   */
  readonly manifestFile?: pulumi.Input<string>;
}

/** The Pulumi module of every exportctl type token: `pulumi-nodejs:dynamic/exportctl:<Kind>`. */
export const PULUMI_MODULE = 'exportctl';

/** The type token of a kind's resources, as the engine and the state show it. */
export function typeTokenOf(kind: ManifestKind): string {
  return `pulumi-nodejs:dynamic/${PULUMI_MODULE}:${kind}`;
}

/**
 * The common shape of the five resource classes: a dynamic resource whose provider is its kind's
 * (one serialized provider per kind) and whose outputs are what the exportctl state holds. Outputs
 * are declared with `declare`, never as class fields: a field would be initialised after the
 * Resource constructor has set its Output, and overwrite it.
 */
export abstract class ManifestResource<Kind extends ManifestKind, Spec> extends pulumi.dynamic.Resource {
  declare readonly apiVersion: pulumi.Output<'exportctl/v1'>;
  declare readonly kind: pulumi.Output<Kind>;
  declare readonly metadata: pulumi.Output<Metadata>;
  /** As the state keeps it: defaults filled in, profile file paths absolute. */
  declare readonly spec: pulumi.Output<Spec>;
  declare readonly manifestFile: pulumi.Output<string | undefined>;
  /** `pulumi:<stack>`: `exportctl apply` and other stacks leave this resource alone. */
  declare readonly owner: pulumi.Output<ResourceOwner>;
  /** The stack that owns it, `<organization>/<project>/<stack>` (see `pulumiStackName`). */
  declare readonly stack: pulumi.Output<string>;
  declare readonly generation: pulumi.Output<number>;
  declare readonly specHash: pulumi.Output<string>;
  /** Ready or not, and why: from the last create, update or refresh. */
  declare readonly status: pulumi.Output<ResourceStatus>;
  declare readonly remoteFacts: pulumi.Output<JsonObject | undefined>;

  protected constructor(
    kind: Kind,
    name: string,
    args: ManifestResourceArgs<unknown>,
    extra: pulumi.Inputs,
    opts: pulumi.CustomResourceOptions | undefined,
  ) {
    // A fresh object: the dynamic Resource adds `__provider` to the props it is given.
    const props: pulumi.Inputs = {
      apiVersion: 'exportctl/v1',
      kind,
      metadata: pulumi
        .output(args.metadata ?? {})
        .apply((metadata) => ({ ...metadata, name: metadata.name ?? name })),
      spec: args.spec,
      manifestFile:
        args.manifestFile === undefined
          ? undefined
          : pulumi
              .output(args.manifestFile)
              .apply((file) => (isAbsolute(file) ? file : resolve(projectFolder(), file))),
      stack: pulumiStackName(),
      // Outputs only: named so that the Resource makes Output properties for them.
      owner: undefined,
      generation: undefined,
      specHash: undefined,
      status: undefined,
      remoteFacts: undefined,
      ...extra,
    };
    super(kindProviders[kind], name, props, opts, PULUMI_MODULE, kind);
  }
}
