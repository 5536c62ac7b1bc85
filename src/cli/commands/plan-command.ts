import { Option } from 'commander';
import { type CliContext, type GlobalOptions, writeLine } from '../cli-context';
import type { RegisterCommand } from '../command-registry';
import { ExitCode } from '../exit-codes';

export interface PlanFlags {
  readonly prune?: boolean;
  readonly refresh: boolean;
}

/**
 * `exportctl plan [PATH...]`: what apply would do, changing nothing. Exit 0 (no changes or not
 * asked), 1 on error, 2 with --detailed-exitcode when there are changes.
 */
export async function planCommand(
  paths: string[],
  flags: PlanFlags,
  globals: GlobalOptions,
  context: CliContext,
): Promise<number> {
  // Loaded here, not at the top: every command starts faster when it loads only what it uses.
  const { planHasChanges, planJson, renderPlanMarkdown, renderPlanText } =
    require('../../reconcile') as typeof import('../../reconcile');
  const { startReconcile } = require('../reconcile-session') as typeof import('../reconcile-session');
  const started = await startReconcile(
    { paths, mode: 'apply', prune: flags.prune ?? false, refresh: flags.refresh },
    globals,
    context,
  );
  if (!started) return ExitCode.Error;
  try {
    const { plan } = started.computed;
    if (globals.output === 'json') writeLine(context.stdout, JSON.stringify(planJson(plan), null, 2));
    else if (globals.output === 'markdown') context.stdout.write(renderPlanMarkdown(plan));
    else writeLine(context.stdout, renderPlanText(plan, { color: useColor(context) }));
    return globals.detailedExitcode && planHasChanges(plan) ? ExitCode.Changes : ExitCode.Success;
  } finally {
    await started.session.close();
  }
}

export function useColor(context: CliContext): boolean {
  return Boolean(context.stdout.isTTY) && context.env.NO_COLOR === undefined;
}

export const registerPlanCommand: RegisterCommand = ({ program, context, action, globals }) => {
  program
    .command('plan')
    .description(
      'desired (PATH) vs applied (state): + create, ~ update, -/+ replace, - delete; changes nothing',
    )
    .argument('[path...]', 'manifest files or folders (default: the current folder)')
    .option('--prune', 'plan deleting resources that PATH no longer declares')
    .addOption(new Option('--no-refresh', 'skip re-reading remote facts (drift)'))
    .action(
      action((command) => planCommand(command.args, command.opts() as PlanFlags, globals(command), context)),
    );
};
