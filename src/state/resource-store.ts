import type { ManifestKind } from '../config';
import type { ResourceOwner } from './resource-owner';
import type { JsonObject } from './spec-hash';

export type ConditionType = 'Ready' | 'Reconciling' | 'Stalled';

/** One observed condition of a resource, in the Kubernetes style. */
export interface ResourceCondition {
  readonly type: ConditionType;
  readonly status: boolean;
  /** A CamelCase word for programs, e.g. `ListNotFound`. */
  readonly reason: string;
  /** A sentence for people. */
  readonly message: string;
  /** When `status` last changed (epoch ms); kept when only reason or message change. */
  readonly lastTransitionTime: number;
  /** The resource generation this condition was written for. */
  readonly observedGeneration: number;
}

/** A condition to set: the store fills in the times and generation. */
export type ConditionUpdate = Pick<ResourceCondition, 'type' | 'status' | 'reason' | 'message'>;

/** What Constant Contact said about the resource when last read (a list's name, member count). */
export interface RemoteFacts {
  readonly facts: JsonObject;
  /** When they were read (epoch ms). */
  readonly readAt: number;
}

/** One applied resource, as the state holds it. */
export interface AppliedResource {
  readonly kind: ManifestKind;
  readonly name: string;
  readonly owner: ResourceOwner;
  /** The normalized manifest spec, with secret references (never their values). */
  readonly spec: JsonObject;
  /** `sha256:…` of the spec's canonical JSON (see `specHash`). */
  readonly specHash: string;
  /** 1 when created; +1 on every change of the spec. */
  readonly generation: number;
  /** Sorted by type; at most one per type. */
  readonly conditions: readonly ResourceCondition[];
  readonly remoteFacts: RemoteFacts | undefined;
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface ResourceToPut {
  readonly kind: ManifestKind;
  readonly name: string;
  /**
   * The writer; it must own the resource if the resource exists, or be a Pulumi stack writing a
   * legacy `pulumi` resource, which this write then gives to the stack (see `ownerAccess`).
   */
  readonly owner: ResourceOwner;
  readonly spec: JsonObject;
}

export interface PutResourceResult {
  readonly resource: AppliedResource;
  /**
   * `unchanged` when the spec hash equals the stored one: neither the spec nor the generation was
   * written (a stack claiming a legacy `pulumi` resource still records itself as the owner).
   */
  readonly change: 'created' | 'updated' | 'unchanged';
}

export interface ResourceFilter {
  readonly kind?: ManifestKind;
  /** Exactly this owner: `pulumi` matches only the legacy owner, not every stack. */
  readonly owner?: ResourceOwner;
}

/**
 * Applied resources: what `apply` (or Pulumi) made the control plane hold. Spec writes (`put`,
 * `delete`) are refused with `OwnershipError` (`owned-by-other`) when the resource belongs to the
 * other owner. Status writes (conditions, remote facts) are observations, accepted from either.
 */
export interface ResourceStore {
  /** The resource, or undefined if none of that kind and name is applied. */
  get(kind: ManifestKind, name: string): Promise<AppliedResource | undefined>;
  /** Matching resources, ordered by kind then name. */
  list(filter?: ResourceFilter): Promise<AppliedResource[]>;
  /**
   * Creates the resource (generation 1) or updates its spec. The generation increments only when
   * the spec hash changes; an equal spec writes nothing but a claim. Throws `OwnershipError` if
   * `owner` may not write the stored owner's resource (`ownerAccess`), and then nothing was written.
   */
  put(resource: ResourceToPut): Promise<PutResourceResult>;
  /**
   * Deletes the resource with its conditions and facts; resolves false if it was not there. Throws
   * `OwnershipError` if `owner` may not write the stored owner's resource, and then nothing was
   * deleted (a stack may delete a legacy `pulumi` resource).
   */
  delete(kind: ManifestKind, name: string, owner: ResourceOwner): Promise<boolean>;
  /**
   * Merges `updates` into the conditions by type (types not named are kept). A condition's
   * lastTransitionTime moves only when its status changes. Throws `resource-not-found` if absent.
   */
  setConditions(
    kind: ManifestKind,
    name: string,
    updates: readonly ConditionUpdate[],
  ): Promise<readonly ResourceCondition[]>;
  /** Replaces the remote facts, read now. Throws `resource-not-found` if absent. */
  setRemoteFacts(kind: ManifestKind, name: string, facts: JsonObject): Promise<RemoteFacts>;
}
