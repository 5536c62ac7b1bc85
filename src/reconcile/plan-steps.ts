import type { Manifest, ManifestKind } from '../config';
import type { DesiredResource, ObservedStatus } from '../resources';
import type { AppliedResource } from '../state';
import type { PlannedChange } from './plan';

/** A planned change with what applying it needs: the declared resource and the applied one. */
export interface PlanStep {
  readonly change: PlannedChange;
  readonly desired?: DesiredResource<Manifest>;
  readonly applied?: AppliedResource;
}

/** What a drift check observed for one applied resource, to record as conditions on apply. */
export interface Observation {
  readonly kind: ManifestKind;
  readonly name: string;
  readonly status: ObservedStatus;
}

/** The names a resource depends on: a destination's connection and source. */
export function dependenciesOf(kind: ManifestKind, spec: unknown): { kind: ManifestKind; name: string }[] {
  if (kind !== 'ExportDestination' || typeof spec !== 'object' || spec === null) return [];
  const { connection, source } = spec as { connection?: unknown; source?: unknown };
  return [
    ...(typeof connection === 'string' ? [{ kind: 'Connection' as const, name: connection }] : []),
    ...(typeof source === 'string' ? [{ kind: 'ProfileSource' as const, name: source }] : []),
  ];
}
