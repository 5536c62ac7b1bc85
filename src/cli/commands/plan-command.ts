import { Option } from 'commander';
import { type CliContext, type GlobalOptions, writeLine } from '../cli-context';
import type { RegisterCommand } from '../command-registry';
import { ExitCode } from '../exit-codes';
import { requestSettings, requestTimeoutOption } from '../request-timeout';

export interface PlanFlags {
  readonly prune?: boolean;
  readonly refresh: boolean;
  readonly withDataPlan?: boolean;
  readonly requestTimeout: string;
}

/**
 * `exportctl plan [PATH...]`: what apply would do, changing nothing. Exit 0 (no changes or not
 * asked), 1 on error — a refresh error among them (a drift finding the plan does not fix, said on
 * stderr; it wins over 2) — and 2 with --detailed-exitcode when there are changes.
 */
export async function planCommand(
  paths: string[],
  flags: PlanFlags,
  globals: GlobalOptions,
  context: CliContext,
): Promise<number> {
  // Loaded here, not at the top: every command starts faster when it loads only what it uses.
  const { planHasChanges, planJson, renderPlanMarkdown, renderPlanText, renderRefreshErrorsText } =
    require('../../reconcile') as typeof import('../../reconcile');
  const { startReconcile } = require('../reconcile-session') as typeof import('../reconcile-session');
  const started = await startReconcile(
    {
      paths,
      mode: 'apply',
      prune: flags.prune ?? false,
      refresh: flags.refresh,
      requests: requestSettings(flags.requestTimeout, context),
    },
    globals,
    context,
  );
  if (!started) return ExitCode.Error;
  try {
    const { plan } = started.computed;
    const previews = flags.withDataPlan ? await dataPlans(started, context) : [];
    if (globals.output === 'json') {
      writeLine(
        context.stdout,
        JSON.stringify(
          {
            ...planJson(plan),
            ...(flags.withDataPlan
              ? {
                  dataPlans: previews.map((preview) =>
                    'error' in preview
                      ? { destination: preview.destination, error: preview.error.toJSON() }
                      : {
                          destination: preview.destination,
                          plan: preview.record.plan,
                          counts: preview.record.counts,
                        },
                  ),
                }
              : {}),
          },
          null,
          2,
        ),
      );
    } else if (globals.output === 'markdown') {
      const { renderDataPlanPreviewsMarkdown } = require('../render-run') as typeof import('../render-run');
      const markdown = renderPlanMarkdown(plan);
      const data = renderDataPlanPreviewsMarkdown(previews);
      context.stdout.write(data ? `${markdown}\n${data}` : markdown);
    } else {
      const { renderDataPlanPreviewsText } = require('../render-run') as typeof import('../render-run');
      writeLine(context.stdout, renderPlanText(plan, { color: useColor(context) }));
      for (const line of renderDataPlanPreviewsText(previews)) writeLine(context.stdout, line);
    }
    // As Terraform fails a plan whose refresh fails: in every output format, on stderr.
    for (const line of renderRefreshErrorsText(plan, 'plan')) writeLine(context.stderr, line);
    if (plan.refreshErrors.length > 0) return ExitCode.Error;
    return globals.detailedExitcode && planHasChanges(plan) ? ExitCode.Changes : ExitCode.Success;
  } finally {
    await started.session.close();
  }
}

/**
 * The data plan of every destination the plan creates, updates or replaces: a dry run of each on a
 * throwaway copy of the state with the plan applied (see `previewDataPlans`).
 */
async function dataPlans(
  started: import('../reconcile-session').ReconcileSession,
  context: CliContext,
): Promise<import('../../engine').DataPlanPreview[]> {
  const { previewDataPlans } = require('../../engine') as typeof import('../../engine');
  const { resourceHandlers } = require('../../resources') as typeof import('../../resources');
  const changes = started.computed.steps.map(({ change, desired }) => ({
    kind: change.kind,
    name: change.name,
    spec: desired ? resourceHandlers[change.kind].storedSpec(desired) : undefined,
    replace: change.action === 'replace',
  }));
  const destinations = started.computed.steps
    .filter(({ change }) => change.kind === 'ExportDestination' && change.action !== 'delete')
    .map(({ change }) => change.name);
  return previewDataPlans(started.session.store, changes, destinations, {
    cwd: context.cwd,
    env: context.env,
  });
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
    .addOption(requestTimeoutOption())
    .option(
      '--with-data-plan',
      'add the data plan of each destination the change creates, updates or replaces (a dry run; sends nothing)',
    )
    .action(
      action((command) => planCommand(command.args, command.opts() as PlanFlags, globals(command), context)),
    );
};
