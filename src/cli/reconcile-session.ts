import {
  formatProblemText,
  hasErrors,
  type LoadedManifest,
  loadManifests,
  type Problem,
  problemJson,
  resolveActor,
} from '../config';
import { type ComputedPlan, computePlan } from '../reconcile';
import { createHandlerContext, type RequestSettings } from '../resources/live-handler-context';
import type { StateSerial } from '../state';
import { rateLimitersFor } from '../wiring/state-rate-limiters';
import { type CliContext, type GlobalOptions, writeLine } from './cli-context';
import { openStateSession, type StateSession } from './state-session';

export interface ReconcileOptions {
  readonly paths: readonly string[];
  readonly mode: 'apply' | 'destroy';
  readonly prune: boolean;
  readonly refresh: boolean;
  /** Take the control-plane lock (apply, destroy), waiting up to this long. */
  readonly lock?: { command: string; timeoutMs: number };
  /** How the refresh calls Constant Contact (see `requestSettings`). */
  readonly requests: RequestSettings;
}

export interface ReconcileSession {
  readonly session: StateSession;
  readonly computed: ComputedPlan;
  readonly actor: string | undefined;
  /** What the plan was computed from: for a saved plan (`plan -out`). */
  readonly manifests: readonly LoadedManifest[];
  readonly files: readonly string[];
  /** The state's serial read just before the plan was computed. */
  readonly serial: StateSerial;
}

/**
 * The common start of plan, apply and destroy: load and validate PATH, open the state (taking the
 * control-plane lock when asked), compute the plan. Prints the problems and resolves undefined when
 * the manifests or the plan have errors; the caller then exits 1.
 */
export async function startReconcile(
  options: ReconcileOptions,
  globals: GlobalOptions,
  context: CliContext,
): Promise<ReconcileSession | undefined> {
  const actor = resolveActor(globals.as, context.env, context.cwd).identity;
  const loaded = loadManifests(options.paths, { cwd: context.cwd, skipRoleChecks: true });
  if (hasErrors(loaded.problems)) {
    printProblems(loaded.problems, globals, context);
    return undefined;
  }
  const session = await openStateSession(globals, context, actor, options.lock);
  try {
    const handlerContext = createHandlerContext({
      store: session.store,
      owner: 'exportctl',
      env: context.env,
      requests: options.requests,
      rateLimiters: rateLimitersFor(session.store),
    });
    const serial = await session.store.serial();
    const computed = await computePlan(
      {
        manifests: loaded.manifests,
        mode: options.mode,
        prune: options.prune,
        refresh: options.refresh,
        actor,
        cwd: context.cwd,
      },
      handlerContext,
    );
    const problems = [
      ...loaded.problems.filter((problem) => problem.severity === 'warning'),
      ...computed.problems,
    ];
    if (hasErrors(problems)) {
      printProblems(problems, globals, context);
      await session.close();
      return undefined;
    }
    if (problems.length > 0 && globals.output === 'text') printProblems(problems, globals, context);
    return { session, computed, actor, manifests: loaded.manifests, files: loaded.files, serial };
  } catch (error) {
    await session.close();
    throw error;
  }
}

export function printProblems(
  problems: readonly Problem[],
  globals: GlobalOptions,
  context: CliContext,
): void {
  if (globals.output === 'json') {
    writeLine(
      context.stdout,
      JSON.stringify({ problems: problems.map((problem) => problemJson(problem, context.cwd)) }, null, 2),
    );
    return;
  }
  for (const problem of problems) writeLine(context.stderr, formatProblemText(problem, context.cwd));
}
