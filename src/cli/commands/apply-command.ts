import { resolve } from 'node:path';
import { Option } from 'commander';
import { UsageError } from '../../errors';
import type { ApplyProgress, ComputedPlan, StepResult } from '../../reconcile';
import { plural } from '../../text';
import { type CliContext, type GlobalOptions, writeLine } from '../cli-context';
import type { RegisterCommand } from '../command-registry';
import { withCommonFlags } from '../common-flags';
import { confirmChanges } from '../confirm';
import { ExitCode } from '../exit-codes';
import { parseDuration } from '../parse-duration';
import { defaultRequestTimeout, requestSettings, requestTimeoutOption } from '../request-timeout';
import type { StateSession } from '../state-session';
import { useColor } from './plan-command';

export interface ApplyFlags {
  readonly prune?: boolean;
  readonly refresh: boolean;
  readonly autoApprove?: boolean;
  readonly lockTimeout: string;
  readonly requestTimeout: string;
}

/**
 * `exportctl apply` and `exportctl destroy`: plan under the control-plane lock, ask (or take
 * --auto-approve), apply step by step. `exportctl apply PLANFILE` applies a saved plan instead (see
 * {@link applySavedPlanCommand}). Exit 0 when every step succeeded, 1 otherwise. A plan with refresh
 * errors applies nothing (its observations are recorded, so `status` shows them) and exits 1.
 */
export async function applyCommand(
  mode: 'apply' | 'destroy',
  paths: string[],
  flags: ApplyFlags,
  globals: GlobalOptions,
  context: CliContext,
): Promise<number> {
  const planFile = savedPlanArgument(mode, paths, flags, context);
  if (planFile !== undefined) return applySavedPlanCommand(planFile, flags, globals, context);
  const { startReconcile } = require('../reconcile-session') as typeof import('../reconcile-session');
  const started = await startReconcile(
    {
      paths,
      mode,
      prune: mode === 'apply' && (flags.prune ?? false),
      refresh: mode === 'apply' && flags.refresh,
      lock: lockOf(mode, flags),
      requests: requestSettings(flags.requestTimeout, context),
    },
    globals,
    context,
  );
  if (!started) return ExitCode.Error;
  try {
    return await performPlan(mode, started.session, started.computed, { ask: true, flags }, globals, context);
  } finally {
    await started.session.close();
  }
}

/**
 * `exportctl apply PLANFILE`: applies exactly the plan `exportctl plan -out PLANFILE` saved, under
 * the control-plane lock, with the role checks of a normal apply for whoever applies, and without
 * asking (reviewing the plan was the approval, as with `terraform apply PLANFILE`). Refuses (exit 1)
 * a plan of another state, one made before the state last changed, one whose secrets resolve to
 * other values now. It applies the manifests the plan saved, even if the files changed since.
 */
export async function applySavedPlanCommand(
  file: string,
  flags: ApplyFlags,
  globals: GlobalOptions,
  context: CliContext,
): Promise<number> {
  const { hasErrors, resolveActor } = require('../../config') as typeof import('../../config');
  const { readSavedPlan, replaySavedPlan } = require('../../reconcile') as typeof import('../../reconcile');
  const { createHandlerContext } =
    require('../../resources/live-handler-context') as typeof import('../../resources/live-handler-context');
  const { rateLimitersFor } =
    require('../../wiring/state-rate-limiters') as typeof import('../../wiring/state-rate-limiters');
  const { printProblems } = require('../reconcile-session') as typeof import('../reconcile-session');
  const { openStateSession } = require('../state-session') as typeof import('../state-session');
  const saved = readSavedPlan(resolve(context.cwd, file));
  const actor = resolveActor(globals.as, context.env, context.cwd).identity;
  const session = await openStateSession(globals, context, actor, lockOf('apply', flags));
  try {
    const replayed = await replaySavedPlan(
      saved,
      { file, actor, cwd: context.cwd },
      createHandlerContext({
        store: session.store,
        owner: 'exportctl',
        env: context.env,
        rateLimiters: rateLimitersFor(session.store),
      }),
    );
    if (hasErrors(replayed.problems)) {
      printProblems(replayed.problems, globals, context);
      return ExitCode.Error;
    }
    if (replayed.problems.length > 0 && globals.output === 'text')
      printProblems(replayed.problems, globals, context);
    if (globals.output !== 'json') {
      writeLine(
        context.stdout,
        `Applying the saved plan ${file}, made ${saved.createdAt}${saved.createdBy ? ` by ${saved.createdBy}` : ''} at serial ${saved.state.serial} of ${session.store.location}.`,
      );
    }
    if (replayed.manifestsChanged && globals.output !== 'json') {
      writeLine(
        context.stdout,
        'note: the manifests changed on disk since this plan was made; applying the plan as it was saved',
      );
    }
    return await performPlan('apply', session, replayed, { ask: false, flags }, globals, context);
  } finally {
    await session.close();
  }
}

/**
 * The saved plan among apply's arguments, if one is: then it must be the only argument, and PATH's
 * choices (--prune, --no-refresh) are the plan's, not flags. Destroy takes none.
 */
function savedPlanArgument(
  mode: 'apply' | 'destroy',
  paths: readonly string[],
  flags: ApplyFlags,
  context: CliContext,
): string | undefined {
  const { isSavedPlanFile } = require('../../reconcile') as typeof import('../../reconcile');
  const planFile = paths.find((path) => isSavedPlanFile(resolve(context.cwd, path)));
  if (planFile === undefined) return undefined;
  if (mode === 'destroy') {
    throw new UsageError('saved-plan-arguments', `destroy takes manifests, not a saved plan: ${planFile}`, {
      context: { planFile },
      hint: `apply a saved plan with exportctl apply ${planFile}; destroy with exportctl destroy PATH`,
    });
  }
  const refuse = (what: string) =>
    new UsageError('saved-plan-arguments', `apply of a saved plan takes no ${what}: ${planFile} holds it`, {
      context: { planFile },
      hint: `run exportctl apply ${planFile} alone, or plan again with the PATH and flags you want (exportctl plan PATH -out FILE)`,
    });
  if (paths.length > 1) throw refuse('PATH');
  if (flags.prune !== undefined) throw refuse('--prune');
  if (!flags.refresh) throw refuse('--no-refresh');
  return planFile;
}

function lockOf(mode: 'apply' | 'destroy', flags: ApplyFlags): { command: string; timeoutMs: number } {
  return { command: mode, timeoutMs: parseDuration(flags.lockTimeout, '--lock-timeout') };
}

/**
 * Prints the plan, asks when `ask` (unless --auto-approve), applies its steps and prints the
 * outcome. Exit 0 when every step succeeded, 1 otherwise. The caller closes the session.
 */
async function performPlan(
  mode: 'apply' | 'destroy',
  session: StateSession,
  computed: Pick<ComputedPlan, 'plan' | 'steps' | 'observations'>,
  options: { readonly ask: boolean; readonly flags: ApplyFlags },
  globals: GlobalOptions,
  context: CliContext,
): Promise<number> {
  const { applyPlan, planJson, renderPlanText, renderRefreshErrorsText, summarizePlan } =
    require('../../reconcile') as typeof import('../../reconcile');
  const { createHandlerContext } =
    require('../../resources/live-handler-context') as typeof import('../../resources/live-handler-context');
  const { rateLimitersFor } =
    require('../../wiring/state-rate-limiters') as typeof import('../../wiring/state-rate-limiters');
  const json = globals.output === 'json';
  const say = (line = '') => {
    if (!json) writeLine(context.stdout, line);
  };
  say(renderPlanText(computed.plan, { color: useColor(context) }));
  const handlerContext = createHandlerContext({
    store: session.store,
    owner: 'exportctl',
    env: context.env,
    requests: requestSettings(options.flags.requestTimeout, context),
    rateLimiters: rateLimitersFor(session.store),
  });
  if (computed.plan.refreshErrors.length > 0) {
    await applyPlan([], computed.observations, handlerContext);
    for (const line of renderRefreshErrorsText(computed.plan, 'apply')) writeLine(context.stderr, line);
    if (json)
      writeLine(context.stdout, JSON.stringify({ plan: planJson(computed.plan), results: [] }, null, 2));
    return ExitCode.Error;
  }
  if (computed.steps.length === 0) {
    await applyPlan([], computed.observations, handlerContext);
    if (json)
      writeLine(context.stdout, JSON.stringify({ plan: planJson(computed.plan), results: [] }, null, 2));
    return ExitCode.Success;
  }
  const question =
    mode === 'destroy'
      ? 'Do you really want to destroy these resources?'
      : 'Do you want to perform these actions?';
  if (options.ask) {
    say();
    if (!(await confirmChanges(context, question, options.flags.autoApprove ?? false))) {
      say(`${mode === 'destroy' ? 'Destroy' : 'Apply'} cancelled.`);
      return ExitCode.Error;
    }
  }
  say();
  const progress: ApplyProgress = {
    onStep(result) {
      if (result.outcome === 'started') say(`${result.id}: ${verb(result.action, 'ing')}...`);
      else say(describeResult(result));
    },
    beforeStep: () => session.assertLockHeld(),
  };
  const results = await applyPlan(computed.steps, computed.observations, handlerContext, progress);
  const failures = results.filter((result) => result.outcome !== 'done');
  if (json) writeLine(context.stdout, JSON.stringify({ plan: planJson(computed.plan), results }, null, 2));
  say();
  if (failures.length === 0) {
    const { add, change, destroy } = summarizePlan(computed.plan);
    say(
      `${mode === 'destroy' ? 'Destroy' : 'Apply'} complete! Resources: ${add} added, ${change} changed, ${destroy} destroyed.`,
    );
    return ExitCode.Success;
  }
  say(
    `${mode === 'destroy' ? 'Destroy' : 'Apply'} incomplete: ${failures.length} of ${plural(results.length, 'change')} did not happen (see above).`,
  );
  say('What succeeded is recorded; fix the cause and run it again to converge.');
  return ExitCode.Error;
}

function verb(action: StepResult['action'], ending: 'ing' | 'ed'): string {
  const stem = { create: 'creat', update: 'updat', replace: 'replac', delete: 'delet' }[action];
  return `${stem}${ending}`;
}

function describeResult(result: StepResult): string {
  const seconds = `${(result.durationMs / 1000).toFixed(1)}s`;
  if (result.outcome === 'done') return `${result.id}: ${verb(result.action, 'ed')} (${seconds})`;
  if (result.outcome === 'skipped') return `${result.id}: ${result.message ?? 'skipped'}`;
  return `${result.id}: FAILED to ${result.action} [${result.code ?? 'error'}]: ${result.message ?? ''}`;
}

/** What destroy does and does not do to Constant Contact (`destroy --help`, and the README). */
const DESTROY_HELP = `
Constant Contact is not changed: destroy deletes the resources from the state only (for a
destination also its membership snapshot and an unfinished run's checkpoint), so no run updates the
list any more. The list is not deleted, and contacts already exported stay in their lists (and in
the account); nothing is unsubscribed.

To empty a list of what exportctl exported before destroying its destination: set the destination's
removal: remove-from-list, maxRemovalPercent: 100 and segments to a segment no profile is in, apply,
and run it (exportctl run NAME): it removes the contacts of its last confirmed snapshot from the
list (they stay in the account). Then destroy. Contacts added to the list in other ways are not
exportctl's to remove: remove them in Constant Contact itself.`;

export const registerApplyCommands: RegisterCommand = ({ program, context, action, globals }) => {
  const common = (name: 'apply' | 'destroy', description: string, argument: string) =>
    withCommonFlags(program.command(name), ['state', 'as', 'output'])
      .description(description)
      .argument('[path...]', argument)
      .option('--auto-approve', 'do not ask for confirmation (required without a terminal)')
      .option('--lock-timeout <duration>', 'how long to wait for the control-plane lock', '30s');
  common(
    'apply',
    'make the applied state match PATH (asks first; --prune deletes what PATH no longer declares), ' +
      'or apply exactly a plan saved by exportctl plan -out FILE (asks nothing; refused if the state changed since)',
    'manifest files or folders (default: the current folder), or one saved plan file',
  )
    .option('--prune', "delete exportctl's resources that PATH does not declare")
    .addOption(new Option('--no-refresh', 'skip re-reading remote facts (drift)'))
    .addOption(requestTimeoutOption())
    .action(
      action((command) =>
        applyCommand('apply', command.args, command.opts() as ApplyFlags, globals(command), context),
      ),
    );
  common(
    'destroy',
    'delete what PATH declares from the state (destinations first); Constant Contact is not changed',
    'manifest files or folders (default: the current folder)',
  )
    .addHelpText('after', DESTROY_HELP)
    .action(
      action((command) =>
        applyCommand(
          'destroy',
          command.args,
          // destroy only deletes from the state: it makes no Constant Contact call to time out.
          { ...(command.opts() as ApplyFlags), refresh: false, requestTimeout: defaultRequestTimeout },
          globals(command),
          context,
        ),
      ),
    );
};
