import type { ManifestKind } from '../../src/config';
import { type AppliedResource, OwnershipError } from '../../src/state';

/**
 * Refuses to touch a resource that `exportctl apply` owns (DESIGN.md "State": each owner leaves the
 * other's resources alone). Checked before a handler runs, so a refused call changes nothing at all,
 * not even a connection's stored OAuth tokens. Throws `OwnershipError` (`owned-by-other`).
 */
export function assertOwnedByPulumi(
  applied: AppliedResource | undefined,
  kind: ManifestKind,
  name: string,
): void {
  if (!applied || applied.owner === 'pulumi') return;
  throw new OwnershipError(
    `${kind}/${name} is managed by ${applied.owner} (exportctl apply), so Pulumi leaves it alone`,
    {
      context: { resource: `${kind}/${name}`, owner: applied.owner },
      hint: `remove it from the Pulumi program, or delete it with exportctl (exportctl destroy PATH) before Pulumi manages it`,
    },
  );
}
