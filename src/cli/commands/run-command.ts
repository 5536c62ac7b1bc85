import { Option } from 'commander';
import { UsageError } from '../../errors';
import type { RunTrigger, StateStore } from '../../state';
import { type CliContext, type GlobalOptions, writeLine } from '../cli-context';
import type { RegisterCommand } from '../command-registry';
import { withCommonFlags } from '../common-flags';
import { ExitCode } from '../exit-codes';
import { parseDuration, parseWholeNumber } from '../parse-duration';
import { requestSettings, requestTimeoutOption, workerEnvironment } from '../request-timeout';
import { type RunEnd, runExitCode } from '../run-exit-code';

export interface RunFlags {
  readonly all?: boolean;
  readonly due?: boolean;
  readonly dryRun?: boolean;
  readonly full?: boolean;
  readonly lockTimeout: string;
  readonly concurrency: string;
  readonly requestTimeout: string;
}

interface Target {
  readonly destination: string;
  readonly trigger: RunTrigger;
}

/**
 * `exportctl run NAME | --all | --due [--dry-run] [--full]`: runs exports now, each under its
 * destination's lock. The destinations of one source run side by side on one read of it;
 * `--concurrency` bounds the sources read at a time (see `groupExportsBySource`). Exit 0 when every run
 * succeeded (a dry run: its plan is within the guards); 1 when any failed, was aborted, or could not
 * run; else 3 when any paused (the daily quota, the message says until when; or a signal). See
 * {@link runExitCode}.
 */
export async function runCommand(
  name: string | undefined,
  flags: RunFlags,
  globals: GlobalOptions,
  context: CliContext,
): Promise<number> {
  if (name !== undefined && flags.all) {
    throw new UsageError('run-target', 'name one destination, or use --all, not both', {
      hint: 'exportctl run vip-newsletter, or exportctl run --all',
    });
  }
  if (flags.all && flags.due) {
    throw new UsageError('run-target', 'use --all (every destination now) or --due (those due), not both', {
      hint: 'exportctl run --due runs what the schedules say is due',
    });
  }
  if (name === undefined && !flags.all && !flags.due) {
    throw new UsageError('run-target', 'say which destination to run: a NAME, --all, or --due', {
      hint: 'exportctl status lists the applied destinations',
    });
  }
  const concurrency = parseWholeNumber(flags.concurrency, '--concurrency');
  const lockTimeoutMs = parseDuration(flags.lockTimeout, '--lock-timeout');
  const requests = requestSettings(flags.requestTimeout, context);
  // Loaded here, not at the top: every command starts faster when it loads only what it uses.
  const { resolveActor } = require('../../config') as typeof import('../../config');
  const { runExportsInWorker } = require('../../engine') as typeof import('../../engine');
  const { renderRunSummary, runJson } = require('../render-run') as typeof import('../render-run');
  const { printError } = require('../run-cli') as typeof import('../run-cli');
  const { createRunProgressDisplay } = require('../run-progress') as typeof import('../run-progress');
  const { openStateSession } = require('../state-session') as typeof import('../state-session');
  const json = globals.output === 'json';
  const actor = resolveActor(globals.as, context.env, context.cwd).identity;
  const session = await openStateSession(globals, context, actor);
  const controller = new AbortController();
  const stop = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    context.stderr.write(
      `${signal}: stopping once the batches in flight are confirmed (the run pauses and resumes next time); ${signal} again quits now\n`,
    );
    controller.abort(new Error(`stopped by ${signal}`));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  try {
    const targets = await chooseTargets(name, flags, session.store, context, json);
    if (targets.length === 0) return ExitCode.Success;
    const display = createRunProgressDisplay(context);
    // In a worker with a bounded heap (see exportWorkerHeap); it opens the state itself.
    const outcomes = await runExportsInWorker(
      {
        state: globals.state,
        cwd: context.cwd,
        env: workerEnvironment(requests, context.env),
        actor,
        targets,
        dryRun: flags.dryRun ?? false,
        full: flags.full ?? false,
        lockTimeoutMs,
        concurrency,
      },
      {
        signal: controller.signal,
        onProgress: display.onProgress,
        onLockWait: (destination, holder) =>
          display.log(
            `${destination}: waiting up to ${flags.lockTimeout} for ${holder.identity} running \`${holder.command}\` (pid ${holder.pid} on ${holder.hostname}, since ${new Date(holder.since).toISOString()})`,
          ),
      },
    );
    display.stop();
    const { recordRunOnConnection } = require('../../resources') as typeof import('../../resources');
    const ends: RunEnd[] = [];
    const results: unknown[] = [];
    for (const outcome of outcomes) {
      await recordRunOnConnection(
        session.store,
        outcome.destination,
        'failure' in outcome
          ? { accepted: false, error: outcome.failure }
          : {
              accepted: outcome.run.status === 'succeeded' && !outcome.record.dryRun,
              error: outcome.error,
            },
        { identity: actor ?? 'unknown', command: `run ${outcome.destination} (connection status)` },
      );
      if (!('failure' in outcome)) {
        ends.push(outcome.run.status);
        if (json) results.push({ ...runJson(outcome.run), resumed: outcome.resumed });
        else for (const line of renderRunSummary(outcome)) writeLine(context.stdout, line);
      } else {
        ends.push('not-run');
        if (json) {
          results.push({ destination: outcome.destination, error: outcome.failure.toJSON() });
        } else {
          context.stderr.write(`${outcome.destination}: `);
          printError(outcome.failure, context);
        }
      }
    }
    if (json) writeLine(context.stdout, JSON.stringify({ runs: results }, null, 2));
    return runExitCode(ends);
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await session.close();
  }
}

async function chooseTargets(
  name: string | undefined,
  flags: RunFlags,
  store: StateStore,
  context: CliContext,
  json: boolean,
): Promise<Target[]> {
  const { dueDestinations } = require('../../engine') as typeof import('../../engine');
  if (flags.due) {
    if (name !== undefined && !(await store.resources.get('ExportDestination', name))) {
      throw new UsageError('run-target', `ExportDestination/${name} is not applied`, {
        hint: 'exportctl status lists the applied destinations',
      });
    }
    const { due, notDue } = await dueDestinations(store, new Date());
    const chosen = due.filter((entry) => name === undefined || entry.destination === name);
    if (!json) {
      for (const entry of notDue.filter((item) => name === undefined || item.destination === name)) {
        writeLine(
          context.stderr,
          `${entry.destination}: not due (${entry.reason}${entry.nextAt ? `; next ${entry.nextAt.toISOString()}` : ''})`,
        );
      }
      if (chosen.length === 0) writeLine(context.stdout, 'Nothing is due.');
    }
    return chosen.map((entry) => ({ destination: entry.destination, trigger: entry.trigger }));
  }
  if (flags.all) {
    const all = await store.resources.list({ kind: 'ExportDestination' });
    if (all.length === 0 && !json) writeLine(context.stdout, 'No export destination is applied.');
    return all.map((resource) => ({ destination: resource.name, trigger: 'manual' }));
  }
  return [{ destination: name as string, trigger: 'manual' }];
}

export const registerRunCommand: RegisterCommand = ({ program, context, action, globals }) => {
  withCommonFlags(program.command('run'), ['state', 'as', 'output'])
    .description(
      'run exports now: NAME, --all, or --due (what the schedules say is due); --dry-run prints the data plan and sends nothing',
    )
    .argument('[name]', 'the ExportDestination to run')
    .option('--all', 'run every applied destination')
    .option(
      '--due',
      'run the destinations whose schedule fired since their last run (for cron without watch mode)',
    )
    .option('--dry-run', 'print the data plan (adds, updates, removals, API calls, ETA); send nothing')
    .option('--full', 'send every selected contact, changed or not')
    .addOption(
      new Option('--lock-timeout <duration>', 'wait this long for a run of the same destination').default(
        '30s',
      ),
    )
    .addOption(
      new Option(
        '--concurrency <n>',
        'sources read side by side with --all / --due (the destinations of a source always run together, on one read)',
      ).default('2'),
    )
    .addOption(requestTimeoutOption())
    .action(
      action((command) => runCommand(command.args[0], command.opts() as RunFlags, globals(command), context)),
    );
};
