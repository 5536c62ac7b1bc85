import type { AppliedResource, ConditionUpdate, ResourceCondition } from './resource-store';

/**
 * The conditions after applying `updates` at time `now` for `generation`: merged by type, sorted by
 * type. lastTransitionTime is kept when a condition's status did not change, so status can say
 * "Ready since …" across repeated reconciles.
 */
export function mergeConditions(
  current: readonly ResourceCondition[],
  updates: readonly ConditionUpdate[],
  now: number,
  generation: number,
): ResourceCondition[] {
  const byType = new Map(current.map((condition) => [condition.type, condition]));
  for (const update of updates) {
    const previous = byType.get(update.type);
    byType.set(update.type, {
      type: update.type,
      status: update.status,
      reason: update.reason,
      message: update.message,
      lastTransitionTime:
        previous !== undefined && previous.status === update.status ? previous.lastTransitionTime : now,
      observedGeneration: generation,
    });
  }
  return [...byType.values()].sort((a, b) => a.type.localeCompare(b.type));
}

/** The one word a resource's conditions come to: Stalled, else Reconciling, else Ready, else Unknown. */
export function resourceState(resource: AppliedResource): 'Ready' | 'Reconciling' | 'Stalled' | 'Unknown' {
  const status = (type: string) => resource.conditions.find((condition) => condition.type === type)?.status;
  if (status('Stalled')) return 'Stalled';
  if (status('Reconciling')) return 'Reconciling';
  if (status('Ready')) return 'Ready';
  return 'Unknown';
}

/** The condition that explains `resourceState`: Stalled's when stalled, else Ready's. */
export function stateReason(resource: AppliedResource): ResourceCondition | undefined {
  const type = resourceState(resource) === 'Stalled' ? 'Stalled' : 'Ready';
  return resource.conditions.find((condition) => condition.type === type);
}
