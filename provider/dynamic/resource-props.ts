import { isAbsolute, join } from 'node:path';
import type { Manifest, ManifestKind, Metadata } from '../../src/config';
import type { DesiredResource } from '../../src/resources';
import type { ConnectionSecretName, ResourceOwner } from '../../src/state';
import type { JsonObject } from '../../src/state/spec-hash';

/**
 * A resource's inputs as the dynamic provider receives them: a manifest (after `check`, with every
 * schema default filled in) plus where it came from. Pulumi stores these as the resource's inputs.
 */
export interface ManifestProps {
  readonly apiVersion?: 'exportctl/v1';
  readonly kind?: ManifestKind;
  readonly metadata: Metadata;
  readonly spec: JsonObject;
  /**
   * The manifest file, absolute: relative paths (profile files) and `{file}` secret references are
   * relative to its folder. Absent: relative to the Pulumi project folder.
   */
  readonly manifestFile?: string;
  /**
   * Connection only: values for `{env: NAME}` secret references, from stack config secrets
   * (`exportctl:secretEnv`); they win over the provider process's environment. A Pulumi secret:
   * never part of the outputs.
   */
  readonly secretEnv?: Readonly<Record<string, string>>;
  /**
   * The Pulumi stack that declares the resource, `<organization>/<project>/<stack>`: the resource
   * classes set it from the program (`pulumi.getOrganization()`, `getProject()`, `getStack()`).
   * An input, not something the provider finds out: the dynamic-provider host hands a method no URN,
   * and a URN has no organization. Written as the owner `pulumi:<stack>`; absent (a resource from
   * before stack ownership, a direct caller), the call acts as the legacy owner `pulumi`.
   */
  readonly stack?: string;
}

/** The Ready condition of a resource as the state (or a fresh read) reports it. */
export interface ResourceStatus {
  readonly ready: boolean;
  /** A CamelCase word: `Verified`, `ListNotFound`, `CredentialsRejected`, ... */
  readonly reason: string;
  readonly message: string;
}

/**
 * A resource's outputs: what the exportctl state holds for it. Never a secret value: secret
 * references stay references, and a Connection shows only keyed fingerprints of its stored secrets
 * (a Pulumi secret output all the same).
 */
export interface ManifestOutputs {
  readonly apiVersion: 'exportctl/v1';
  readonly kind: ManifestKind;
  readonly metadata: Metadata;
  /** The spec as the state keeps it: defaults filled in, profile file paths absolute. */
  readonly spec: JsonObject;
  readonly manifestFile?: string;
  /** `pulumi:<stack>` for a resource this provider wrote (`pulumi` before stacks were recorded). */
  readonly owner: ResourceOwner;
  /**
   * The stack of the inputs that made these outputs: `delete` and `read` get only the outputs, so
   * this is how they know which stack asks. Absent in outputs written before stack ownership.
   */
  readonly stack?: string;
  /** 1 when created, +1 on every change of the spec. */
  readonly generation: number;
  readonly specHash: string;
  readonly status: ResourceStatus;
  /** What Constant Contact said when last read (a destination's list name and size). */
  readonly remoteFacts?: JsonObject;
  /** Connection only: HMAC fingerprints of the stored secret values (equal exactly when equal). */
  readonly secretFingerprints?: Partial<Record<ConnectionSecretName, string>>;
}

/** The name inside a Pulumi ID, which is exportctl's `resourceId` (`Kind/name`); the whole ID if it has no `Kind/` prefix. */
export function nameFromId(kind: ManifestKind, id: string): string {
  return id.startsWith(`${kind}/`) ? id.slice(kind.length + 1) : id;
}

/**
 * The resource a handler gets from checked props. `root` is the Pulumi project folder: relative
 * paths of a resource without a manifest file are relative to it.
 */
export function desiredFromProps(kind: ManifestKind, props: ManifestProps, root: string): DesiredResource {
  const file =
    props.manifestFile === undefined
      ? join(root, 'Pulumi.yaml')
      : isAbsolute(props.manifestFile)
        ? props.manifestFile
        : join(root, props.manifestFile);
  const manifest = {
    apiVersion: 'exportctl/v1',
    kind,
    metadata: props.metadata,
    spec: props.spec,
  } as unknown as Manifest;
  return { manifest, file };
}
