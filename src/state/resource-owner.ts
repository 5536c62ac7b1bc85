/**
 * A resource owned by one Pulumi stack, named as the program knows it:
 * `pulumi:<organization>/<project>/<stack>` (`pulumi:acme/exportctl/prod`).
 */
export type PulumiStackOwner = `pulumi:${string}`;

/**
 * Who manages a resource. Each leaves the other's resources alone (DESIGN.md "State"): `exportctl`
 * (`exportctl apply`), or Pulumi, as one stack ({@link PulumiStackOwner}). `pulumi` alone is the
 * owner written before stacks were recorded (and by a provider call that names no stack): the first
 * stack that creates or updates such a resource claims it.
 */
export type ResourceOwner = 'exportctl' | 'pulumi' | PulumiStackOwner;

const STACK_PREFIX = 'pulumi:';

/** A stack name as the program makes it: three non-empty parts, `<org>/<project>/<stack>`. */
export const PULUMI_STACK_NAME = /^[^/\s]+\/[^/\s]+\/[^/\s]+$/;

/** The owner of a stack's resources; `stack` is `<organization>/<project>/<stack>`. */
export function pulumiStackOwner(stack: string): PulumiStackOwner {
  return `${STACK_PREFIX}${stack}`;
}

/** True for every owner that is Pulumi: a stack, or the legacy `pulumi`. */
export function isPulumiOwner(owner: ResourceOwner): owner is 'pulumi' | PulumiStackOwner {
  return owner === 'pulumi' || owner.startsWith(STACK_PREFIX);
}

/** The stack (`<org>/<project>/<stack>`) of a stack owner; undefined for `exportctl` and `pulumi`. */
export function stackOfOwner(owner: ResourceOwner): string | undefined {
  return owner.startsWith(STACK_PREFIX) ? owner.slice(STACK_PREFIX.length) : undefined;
}

/** The owner for messages: `exportctl apply`, `Pulumi stack acme/exportctl/dev`, `Pulumi (no stack recorded)`. */
export function describeOwner(owner: ResourceOwner): string {
  if (owner === 'exportctl') return 'exportctl apply';
  const stack = stackOfOwner(owner);
  return stack === undefined ? 'Pulumi (no stack recorded)' : `Pulumi stack ${stack}`;
}

/**
 * Whether `writer` may change or delete what `stored` owns: `own` (the same owner), `claim` (a
 * stack writing a legacy `pulumi` resource: the write makes the stack its owner), or `refuse`. A
 * writer that names no stack (`pulumi`) may not touch a stack's resource: it could be any stack.
 */
export function ownerAccess(stored: ResourceOwner, writer: ResourceOwner): 'own' | 'claim' | 'refuse' {
  if (stored === writer) return 'own';
  if (stored === 'pulumi' && stackOfOwner(writer) !== undefined) return 'claim';
  return 'refuse';
}
