import type { ManifestKind } from '../config';
import type { FieldChange } from '../resources/field-changes';

/** What the reconciler will do to one resource. */
export type PlanAction = 'create' | 'update' | 'replace' | 'delete';

export interface PlannedChange {
  readonly action: PlanAction;
  readonly kind: ManifestKind;
  readonly name: string;
  /** `Kind/name`. */
  readonly id: string;
  /** The fields that change (for create: every field; for delete: none). */
  readonly fields: readonly FieldChange[];
  /** Where the resource is declared, when it is (`file:line`). */
  readonly declaredAt?: string;
}

/** A resource whose remote side is not what the state says (drift), found by re-reading it. */
export interface DriftFinding {
  readonly id: string;
  readonly kind: ManifestKind;
  readonly name: string;
  readonly condition: 'Ready' | 'Stalled';
  /** A CamelCase reason, e.g. `ListNotFound`, `CredentialsRejected`, `Unreachable`. */
  readonly reason: string;
  readonly message: string;
  /** The stable code of the error behind it, when one was raised (`list-not-found`, `invalid-client`). */
  readonly code?: string;
  /** What to do about it. */
  readonly hint?: string;
  /**
   * Set when the resource was not read because what it depends on could not be (a destination whose
   * connection failed its check): that resource's id, whose finding this one repeats.
   */
  readonly cause?: string;
}

/**
 * A drift finding the plan cannot fix: the refresh failed for this resource (its credentials were
 * refused, its endpoint did not answer, its list is gone, its source is unreadable) and the plan does
 * not change it. `plan` and `apply` fail (exit 1) while there is one; `--no-refresh` skips the check.
 */
export interface RefreshError {
  readonly id: string;
  readonly kind: ManifestKind;
  readonly name: string;
  readonly reason: string;
  readonly message: string;
  readonly code?: string;
  readonly hint: string;
  /** Resources not checked because of this one (a connection's destinations), by id. */
  readonly dependents: readonly string[];
}

/** A declared resource that this plan leaves alone, and why. */
export interface SkippedResource {
  readonly id: string;
  readonly reason: string;
}

/**
 * Desired (manifests) versus applied (state), as ordered actions: creates and updates in dependency
 * order (Access, Refresh, ProfileSource, Connection, ExportDestination), deletes in reverse, a
 * replacement as one `replace` action.
 */
export interface Plan {
  readonly changes: readonly PlannedChange[];
  readonly drift: readonly DriftFinding[];
  /** The drift findings the plan cannot fix (see RefreshError): a plan that has any fails. */
  readonly refreshErrors: readonly RefreshError[];
  /** Applied resources owned by exportctl that PATH does not declare, kept because --prune is off. */
  readonly notDeclared: readonly string[];
  readonly skipped: readonly SkippedResource[];
}

export interface PlanSummary {
  readonly add: number;
  readonly change: number;
  readonly destroy: number;
}

/** Terraform's counting: a replacement adds one and destroys one. */
export function summarizePlan(plan: Pick<Plan, 'changes'>): PlanSummary {
  let add = 0;
  let change = 0;
  let destroy = 0;
  for (const item of plan.changes) {
    if (item.action === 'create' || item.action === 'replace') add++;
    if (item.action === 'delete' || item.action === 'replace') destroy++;
    if (item.action === 'update') change++;
  }
  return { add, change, destroy };
}

export function planHasChanges(plan: Pick<Plan, 'changes'>): boolean {
  return plan.changes.length > 0;
}
