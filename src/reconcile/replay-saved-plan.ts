import type { HandlerContext } from '../resources';
import { canonicalJson } from '../state/spec-hash';
import { type ComputedPlan, computePlan } from './compute-plan';
import { manifestsHash } from './manifests-hash';
import { planJson } from './render-plan';
import { loadSavedManifests } from './saved-manifests';
import { SavedPlanError } from './saved-plan-errors';
import type { SavedPlan } from './saved-plan-file';
import { secretFingerprints } from './secret-fingerprints';

export interface ReplayOptions {
  /** The plan file, for messages. */
  readonly file: string;
  /** Who applies: roles are checked for this identity, as in a normal apply. */
  readonly actor: string | undefined;
  /** Folder paths are shown relative to. */
  readonly cwd: string;
}

export interface ReplayedPlan extends ComputedPlan {
  /** The manifest files on disk differ from those the plan was made from (it applies its own). */
  readonly manifestsChanged: boolean;
}

/**
 * Turns a saved plan back into steps to apply, against the state of `context` (which the caller has
 * locked, as for any apply). Refuses, with SavedPlanError, a plan of another state
 * (`plan-other-state`), one made before the state's last change (`plan-stale`), and one whose secret
 * references resolve to other values now (`plan-secrets-changed`). The steps are recomputed from the
 * plan's own manifests (not the files on disk) with the same rules as a normal apply, including the
 * role checks for `options.actor`; their problems are returned as a computed plan's are. Should the
 * steps differ from the saved changes anyway, it refuses with `plan-stale`: it applies exactly the
 * plan or nothing. The refresh is not repeated: the plan's observations are the ones recorded.
 */
export async function replaySavedPlan(
  saved: SavedPlan,
  options: ReplayOptions,
  context: HandlerContext,
): Promise<ReplayedPlan> {
  const { file } = options;
  const current = await context.store.serial();
  if (current.lineage !== saved.state.lineage) {
    throw new SavedPlanError(
      'plan-other-state',
      `the plan ${file} was made against another state (${saved.state.location}, lineage ${saved.state.lineage}) than ${context.store.location} (lineage ${current.lineage})`,
      {
        context: { file, planLineage: saved.state.lineage, stateLineage: current.lineage },
        hint: 'apply it with --state (or EXPORTCTL_STATE) naming the state it was planned against, or plan again against this one',
      },
    );
  }
  if (current.serial !== saved.state.serial) throw stale(saved, file, current.serial);

  const manifests = loadSavedManifests(saved.manifests, file, options.cwd);
  const fingerprints = await secretFingerprints(manifests, context);
  for (const key of new Set([...Object.keys(saved.secretFingerprints), ...Object.keys(fingerprints)])) {
    if (saved.secretFingerprints[key] === fingerprints[key]) continue;
    throw new SavedPlanError(
      'plan-secrets-changed',
      `${key} resolves to another value than when the plan was made: the plan ${file} cannot be applied as it was reviewed`,
      {
        context: { file, secret: key },
        hint: 'give the secret the value it had when planning, or plan again so that the new value shows as a change to review',
      },
    );
  }

  const computed = await computePlan(
    {
      manifests,
      mode: 'apply',
      prune: saved.request.prune,
      refresh: false,
      actor: options.actor,
      cwd: options.cwd,
    },
    context,
  );
  const replayed = {
    plan: { ...computed.plan, drift: saved.plan.drift },
    steps: computed.steps,
    observations: saved.observations,
    problems: computed.problems,
    manifestsChanged: manifestsHash(saved.manifestFiles.files) !== saved.manifestFiles.hash,
  };
  if (computed.problems.some((problem) => problem.severity === 'error')) return replayed;
  if (changesOf(planJson(computed.plan).changes) !== changesOf(saved.plan.changes)) {
    throw new SavedPlanError(
      'plan-stale',
      `applying the plan ${file} to ${context.store.location} would no longer do what the plan says, though the state serial did not move`,
      {
        context: { file, planSerial: saved.state.serial, stateSerial: current.serial },
        hint: `plan again${planAgain(saved, file)}, review it, and apply the new plan`,
      },
    );
  }
  return replayed;
}

/** The changes without where they are declared (shown relative to the folder the command ran in). */
function changesOf(changes: unknown): string {
  const list = Array.isArray(changes) ? (changes as Record<string, unknown>[]) : [];
  return canonicalJson(list.map(({ declaredAt: _declaredAt, ...change }) => change));
}

function stale(saved: SavedPlan, file: string, serial: number): SavedPlanError {
  return new SavedPlanError(
    'plan-stale',
    `the plan ${file} was made at serial ${saved.state.serial} of the state; it is now at serial ${serial}: the state changed since the plan was made (an apply, destroy, watch reconcile or drift record)`,
    {
      context: { file, planSerial: saved.state.serial, stateSerial: serial },
      hint: `plan again${planAgain(saved, file)}, review it, and apply the new plan`,
    },
  );
}

function planAgain(saved: SavedPlan, file: string): string {
  const paths = saved.request.paths.length > 0 ? ` ${saved.request.paths.join(' ')}` : '';
  return ` (exportctl plan${paths}${saved.request.prune ? ' --prune' : ''} -out ${file})`;
}
