import type { ManifestKind } from '../config';
import {
  describeOwner,
  ownerAccess,
  pulumiStackOwner,
  type ResourceOwner,
  stackOfOwner,
} from './resource-owner';
import type { AppliedResource, ResourceCondition } from './resource-store';
import type { JsonObject } from './spec-hash';
import { OwnershipError, StateError } from './state-errors';

/**
 * A `resources` row as every backend's table holds it (the same columns in SQLite and PostgreSQL);
 * times are epoch ms, as numbers (SQLite) or the strings pg gives for BIGINT.
 */
export interface ResourceRow {
  kind: string;
  name: string;
  owner: string;
  /** The Pulumi stack of owner `pulumi`; null for `exportctl` and the legacy `pulumi`. */
  owner_stack: string | null;
  spec: string;
  spec_hash: string;
  generation: number;
  conditions: string;
  remote_facts: string | null;
  remote_facts_read_at: number | string | null;
  created_at: number | string;
  updated_at: number | string;
}

/** An owner as the two columns hold it: `pulumi:a/b/c` is owner `pulumi`, owner_stack `a/b/c`. */
export function ownerColumns(owner: ResourceOwner): { owner: string; stack: string | null } {
  const stack = stackOfOwner(owner);
  return stack === undefined ? { owner, stack: null } : { owner: 'pulumi', stack };
}

function ownerOf(row: ResourceRow): ResourceOwner {
  return row.owner_stack === null ? (row.owner as ResourceOwner) : pulumiStackOwner(row.owner_stack);
}

/** The applied resource a row holds. */
export function toResource(row: ResourceRow): AppliedResource {
  return {
    kind: row.kind as ManifestKind,
    name: row.name,
    owner: ownerOf(row),
    spec: JSON.parse(row.spec) as JsonObject,
    specHash: row.spec_hash,
    generation: row.generation,
    conditions: JSON.parse(row.conditions) as ResourceCondition[],
    remoteFacts:
      row.remote_facts === null || row.remote_facts_read_at === null
        ? undefined
        : { facts: JSON.parse(row.remote_facts) as JsonObject, readAt: Number(row.remote_facts_read_at) },
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

/** Throws `resource-not-found` for a resource the state lacks. */
export function notFound(kind: string, name: string): never {
  throw new StateError('resource-not-found', `${kind}/${name} is not in the state`, {
    context: { kind, name },
    hint: 'apply it first; status is recorded only for applied resources',
  });
}

/**
 * Whether `writer` may change or delete the resource of `existing`: `own` or `claim` (see
 * `ownerAccess`); throws `OwnershipError` otherwise.
 */
export function assertOwner(
  existing: ResourceRow,
  writer: ResourceOwner,
  action: 'change' | 'delete',
): 'own' | 'claim' {
  const owner = ownerOf(existing);
  const access = ownerAccess(owner, writer);
  if (access !== 'refuse') return access;
  throw new OwnershipError(
    `${existing.kind}/${existing.name} is managed by ${describeOwner(owner)}; ` +
      `${describeOwner(writer)} does not ${action} it`,
    {
      context: { kind: existing.kind, name: existing.name, owner, writer },
      hint:
        owner === 'exportctl'
          ? 'change it with exportctl apply, or remove it from the Pulumi program'
          : writer === 'exportctl'
            ? 'change or remove it in the Pulumi program, or remove it from these manifests'
            : `change or remove it in the program of ${describeOwner(owner)}; each resource belongs to one stack`,
    },
  );
}
