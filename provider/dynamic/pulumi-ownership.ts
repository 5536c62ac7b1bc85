import type { ManifestKind } from '../../src/config';
import {
  type AppliedResource,
  describeOwner,
  OwnershipError,
  ownerAccess,
  pulumiStackOwner,
  type ResourceOwner,
  stackOfOwner,
} from '../../src/state';

/** What a provider call does to the resource, as an ownership refusal names it. */
export type ProviderAction = 'create' | 'update' | 'delete' | 'diff' | 'read';

/**
 * The owner a provider call writes as: the stack its resource names (input `stack`, which every
 * resource class sets from the program's organization, project and stack), else the legacy `pulumi`
 * (a resource whose Pulumi state predates stack ownership, or a caller that names no stack).
 */
export function stackOwner(stack: string | undefined): ResourceOwner {
  return stack === undefined ? 'pulumi' : pulumiStackOwner(stack);
}

/**
 * Refuses to touch a resource that `exportctl apply` or another Pulumi stack owns (DESIGN.md
 * "State": each owner leaves the other's resources alone; two stacks on one state must not co-own a
 * resource, or destroying one would delete the other's). Checked before a handler runs, so a refused
 * call changes nothing at all, not even a connection's stored OAuth tokens. Resolves `absent` (not in
 * the state), `own` (this stack's), or `claim`: a legacy `pulumi` resource, which the next create or
 * update by this stack makes its own (diff and read only report it). A call that names no `stack`
 * may touch a legacy resource but never a stack's: it cannot tell which stack it is. Throws
 * `OwnershipError` (`owned-by-other`) naming both owners and what to do.
 */
export function assertOwnedByPulumi(
  applied: AppliedResource | undefined,
  kind: ManifestKind,
  name: string,
  stack?: string,
  action: ProviderAction = 'update',
): 'absent' | 'own' | 'claim' {
  if (!applied) return 'absent';
  const access = ownerAccess(applied.owner, stackOwner(stack));
  if (access !== 'refuse') return access;
  const resource = `${kind}/${name}`;
  const context = { resource, owner: applied.owner, ...(stack === undefined ? {} : { stack }) };
  if (applied.owner === 'exportctl') {
    throw new OwnershipError(
      `${resource} is managed by exportctl (exportctl apply), so Pulumi leaves it alone`,
      {
        context,
        hint: `remove it from the Pulumi program, or delete it with exportctl (exportctl destroy PATH) before Pulumi manages it`,
      },
    );
  }
  const owner = stackOfOwner(applied.owner) ?? 'unknown';
  const asking =
    stack === undefined ? 'this stack (its Pulumi state of the resource records no stack)' : `stack ${stack}`;
  throw new OwnershipError(
    `${resource} belongs to ${describeOwner(applied.owner)}; ${asking} may not ${action} it: two stacks on one exportctl state never share a resource`,
    {
      context,
      hint:
        `declare it in one stack only: remove it from this stack's program (if this stack's Pulumi state lists it, ` +
        `drop it there with \`pulumi state delete <urn>\`, which leaves the resource alone). To move it to this stack, ` +
        `remove it from the program of stack ${owner} and run pulumi up there (that deletes it), then pulumi up here`,
    },
  );
}
