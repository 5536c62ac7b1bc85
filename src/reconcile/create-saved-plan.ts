import type { LoadedManifest } from '../config';
import { packageVersion } from '../package-root';
import type { HandlerContext } from '../resources';
import type { StateSerial } from '../state';
import type { JsonObject } from '../state/spec-hash';
import type { ComputedPlan } from './compute-plan';
import { manifestsHash } from './manifests-hash';
import { planJson } from './render-plan';
import { savedManifest } from './saved-manifests';
import { SavedPlanError } from './saved-plan-errors';
import { SAVED_PLAN_FORMAT, SAVED_PLAN_FORMAT_VERSION, type SavedPlan } from './saved-plan-file';
import { secretFingerprints } from './secret-fingerprints';

export interface SavedPlanInput {
  /** Every declared manifest the plan was computed from. */
  readonly manifests: readonly LoadedManifest[];
  /** The manifest files read (absolute). */
  readonly files: readonly string[];
  /** PATH as given, for messages. */
  readonly paths: readonly string[];
  readonly prune: boolean;
  readonly refresh: boolean;
  readonly actor: string | undefined;
  /** A plan without errors. */
  readonly computed: ComputedPlan;
  /**
   * The state's serial read before the plan was computed (default: read now). When the state has
   * moved on since, the plan may mix two states: it is refused with `plan-stale`.
   */
  readonly serial?: StateSerial;
}

/**
 * The saved form of a computed plan (see {@link SavedPlan}): the manifests it applies, the state
 * serial it was computed at, the fingerprints of the secret values it saw. Throws `plan-stale` when
 * the state changed while the plan was being computed, `secret-unresolved` like the plan itself.
 */
export async function createSavedPlan(
  input: SavedPlanInput,
  context: HandlerContext,
  now: Date = new Date(),
): Promise<SavedPlan> {
  const serial = await context.store.serial();
  if (input.serial && input.serial.serial !== serial.serial) {
    throw new SavedPlanError(
      'plan-stale',
      `the state ${context.store.location} changed while the plan was made (serial ${input.serial.serial}, then ${serial.serial}): no plan was saved`,
      {
        context: { planSerial: input.serial.serial, stateSerial: serial.serial },
        hint: 'another apply ran at the same time: plan again',
      },
    );
  }
  return {
    format: SAVED_PLAN_FORMAT,
    formatVersion: SAVED_PLAN_FORMAT_VERSION,
    exportctlVersion: packageVersion(),
    createdAt: now.toISOString(),
    createdBy: input.actor ?? null,
    state: { location: context.store.location, lineage: serial.lineage, serial: serial.serial },
    request: { paths: [...input.paths], prune: input.prune, refresh: input.refresh },
    manifestFiles: { hash: manifestsHash(input.files), files: [...input.files] },
    manifests: input.manifests.map(savedManifest),
    secretFingerprints: await secretFingerprints(input.manifests, context),
    plan: planJson(input.computed.plan) as SavedPlan['plan'] & JsonObject,
    observations: input.computed.observations,
  };
}
