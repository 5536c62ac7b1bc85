import { resolve } from 'node:path';
import { Option } from 'commander';
import { type CliContext, type GlobalOptions, writeLine } from '../cli-context';
import type { RegisterCommand } from '../command-registry';
import { withCommonFlags } from '../common-flags';
import { ExitCode } from '../exit-codes';
import { requestSettings, requestTimeoutOption } from '../request-timeout';

export interface PlanFlags {
  readonly prune?: boolean;
  readonly refresh: boolean;
  readonly withDataPlan?: boolean;
  /** Save the plan to this file (`-out FILE`, `--out FILE`) for `exportctl apply FILE`. */
  readonly out?: string;
  readonly requestTimeout: string;
}

/**
 * `exportctl plan [PATH...]`: what apply would do, changing nothing. Exit 0 (no changes or not
 * asked), 1 on error — a refresh error among them (a drift finding the plan does not fix, said on
 * stderr; it wins over 2) — and 2 with --detailed-exitcode when there are changes. With `--out FILE`
 * the plan is also saved (see `SavedPlan`) for `exportctl apply FILE`; a plan with errors, refresh
 * errors included, saves nothing.
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
    const savedTo =
      flags.out === undefined || plan.refreshErrors.length > 0
        ? undefined
        : await savePlan(started, paths, flags, context);
    const previews = flags.withDataPlan ? await dataPlans(started, context) : [];
    if (globals.output === 'json') {
      writeLine(
        context.stdout,
        JSON.stringify(
          {
            ...planJson(plan),
            ...(savedTo === undefined ? {} : { savedTo }),
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
    if (savedTo !== undefined) {
      // Beside the plan on a terminal; on stderr when stdout is JSON or a pull-request comment.
      const stream = globals.output === 'text' ? context.stdout : context.stderr;
      if (globals.output === 'text') writeLine(stream);
      writeLine(
        stream,
        `Saved the plan to ${savedTo}. To apply exactly this plan: exportctl apply ${savedTo}`,
      );
    }
    return globals.detailedExitcode && planHasChanges(plan) ? ExitCode.Changes : ExitCode.Success;
  } finally {
    await started.session.close();
  }
}

/** Writes the saved plan to `flags.out` (relative to cwd); resolves the path as given. */
async function savePlan(
  started: import('../reconcile-session').ReconcileSession,
  paths: readonly string[],
  flags: PlanFlags,
  context: CliContext,
): Promise<string> {
  const { createSavedPlan, writeSavedPlan } = require('../../reconcile') as typeof import('../../reconcile');
  const { createHandlerContext } =
    require('../../resources/live-handler-context') as typeof import('../../resources/live-handler-context');
  const { rateLimitersFor } =
    require('../../wiring/state-rate-limiters') as typeof import('../../wiring/state-rate-limiters');
  const file = flags.out as string;
  const saved = await createSavedPlan(
    {
      manifests: started.manifests,
      files: started.files,
      paths,
      prune: flags.prune ?? false,
      refresh: flags.refresh,
      actor: started.actor,
      computed: started.computed,
      serial: started.serial,
    },
    createHandlerContext({
      store: started.session.store,
      owner: 'exportctl',
      env: context.env,
      rateLimiters: rateLimitersFor(started.session.store),
    }),
  );
  writeSavedPlan(resolve(context.cwd, file), saved);
  return file;
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
    facts: desired ? resourceHandlers[change.kind].storedFacts?.(desired) : undefined,
    replace: change.action === 'replace',
  }));
  const destinations = started.computed.steps
    .filter(({ change }) => change.kind === 'ExportDestination' && change.action !== 'delete')
    .map(({ change }) => change.name);
  const { runEngineStateFor } =
    require('../../wiring/run-engine-state') as typeof import('../../wiring/run-engine-state');
  return previewDataPlans(
    runEngineStateFor(started.session.store, { env: context.env }),
    changes,
    destinations,
    {
      env: context.env,
    },
  );
}

export function useColor(context: CliContext): boolean {
  return Boolean(context.stdout.isTTY) && context.env.NO_COLOR === undefined;
}

export const registerPlanCommand: RegisterCommand = ({ program, context, action, globals }) => {
  withCommonFlags(program.command('plan'), ['state', 'as', 'output', 'detailedExitcode'])
    .description(
      'desired (PATH) vs applied (state): + create, ~ update, -/+ replace, - delete; changes nothing',
    )
    .argument('[path...]', 'manifest files or folders (default: the current folder)')
    .option('--prune', 'plan deleting resources that PATH no longer declares')
    .addOption(new Option('--no-refresh', 'skip re-reading remote facts (drift)'))
    .addOption(requestTimeoutOption())
    .option(
      '--out <file>',
      'also save the plan to FILE (also -out FILE): exportctl apply FILE applies exactly it, or refuses if the state changed since',
    )
    .option(
      '--with-data-plan',
      'add the data plan of each destination the change creates, updates or replaces (a dry run; sends nothing)',
    )
    .action(
      action((command) => planCommand(command.args, command.opts() as PlanFlags, globals(command), context)),
    );
};
