import { Option } from 'commander';
import type { ApplyProgress, StepResult } from '../../reconcile';
import { type CliContext, type GlobalOptions, writeLine } from '../cli-context';
import type { RegisterCommand } from '../command-registry';
import { confirmChanges } from '../confirm';
import { ExitCode } from '../exit-codes';
import { parseDuration } from '../parse-duration';
import { defaultRequestTimeout, requestSettings, requestTimeoutOption } from '../request-timeout';
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
 * --auto-approve), apply step by step. Exit 0 when every step succeeded, 1 otherwise. A plan with
 * refresh errors applies nothing (its observations are recorded, so `status` shows them) and
 * exits 1.
 */
export async function applyCommand(
  mode: 'apply' | 'destroy',
  paths: string[],
  flags: ApplyFlags,
  globals: GlobalOptions,
  context: CliContext,
): Promise<number> {
  const { applyPlan, planJson, renderPlanText, renderRefreshErrorsText, summarizePlan } =
    require('../../reconcile') as typeof import('../../reconcile');
  const { createHandlerContext } =
    require('../../resources/live-handler-context') as typeof import('../../resources/live-handler-context');
  const { startReconcile } = require('../reconcile-session') as typeof import('../reconcile-session');
  const lock = { command: mode, timeoutMs: parseDuration(flags.lockTimeout, '--lock-timeout') };
  const requests = requestSettings(flags.requestTimeout, context);
  const started = await startReconcile(
    {
      paths,
      mode,
      prune: mode === 'apply' && (flags.prune ?? false),
      refresh: mode === 'apply' && flags.refresh,
      lock,
      requests,
    },
    globals,
    context,
  );
  if (!started) return ExitCode.Error;
  const { session, computed } = started;
  const json = globals.output === 'json';
  const say = (line = '') => {
    if (!json) writeLine(context.stdout, line);
  };
  try {
    say(renderPlanText(computed.plan, { color: useColor(context) }));
    const handlerContext = createHandlerContext({
      store: session.store,
      owner: 'exportctl',
      env: context.env,
      requests,
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
    say();
    if (!(await confirmChanges(context, question, flags.autoApprove ?? false))) {
      say(`${mode === 'destroy' ? 'Destroy' : 'Apply'} cancelled.`);
      return ExitCode.Error;
    }
    say();
    const progress: ApplyProgress = {
      onStep(result) {
        if (result.outcome === 'started') say(`${result.id}: ${verb(result.action, 'ing')}...`);
        else say(describeResult(result));
      },
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
      `${mode === 'destroy' ? 'Destroy' : 'Apply'} incomplete: ${failures.length} of ${results.length} changes did not happen (see above).`,
    );
    say('What succeeded is recorded; fix the cause and run it again to converge.');
    return ExitCode.Error;
  } finally {
    await session.close();
  }
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

export const registerApplyCommands: RegisterCommand = ({ program, context, action, globals }) => {
  const common = (name: 'apply' | 'destroy', description: string) =>
    program
      .command(name)
      .description(description)
      .argument('[path...]', 'manifest files or folders (default: the current folder)')
      .option('--auto-approve', 'do not ask for confirmation (required without a terminal)')
      .option('--lock-timeout <duration>', 'how long to wait for the control-plane lock', '30s');
  common(
    'apply',
    'make the applied state match PATH (asks first; --prune deletes what PATH no longer declares)',
  )
    .option('--prune', "delete exportctl's resources that PATH does not declare")
    .addOption(new Option('--no-refresh', 'skip re-reading remote facts (drift)'))
    .addOption(requestTimeoutOption())
    .action(
      action((command) =>
        applyCommand('apply', command.args, command.opts() as ApplyFlags, globals(command), context),
      ),
    );
  common('destroy', 'delete what PATH declares (destinations first)').action(
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
