import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { Option } from 'commander';
import type { StateStore } from '../../state';
import { type CliContext, type GlobalOptions, writeLine } from '../cli-context';
import type { RegisterCommand } from '../command-registry';
import { withCommonFlags } from '../common-flags';
import { ExitCode } from '../exit-codes';
import { parseWholeNumber } from '../parse-duration';
import { printTable } from './status-command';

export interface RunsFlags {
  readonly limit: string;
  readonly rowIssues?: boolean;
}

/**
 * `exportctl runs [NAME] [--limit N]`: the run history, newest first; `exportctl runs NAME RUN`:
 * that run's summary; `exportctl runs NAME RUN --row-issues`: its row issues as CSV on stdout.
 */
export async function runsCommand(
  name: string | undefined,
  runText: string | undefined,
  flags: RunsFlags,
  globals: GlobalOptions,
  context: CliContext,
): Promise<number> {
  const limit = parseWholeNumber(flags.limit, '--limit');
  const runId = runText === undefined ? undefined : parseWholeNumber(runText, 'RUN');
  if (flags.rowIssues && (name === undefined || runId === undefined)) {
    const { UsageError } = require('../../errors') as typeof import('../../errors');
    throw new UsageError('invalid-option', '--row-issues prints the row issues of one run: name it', {
      hint: 'exportctl runs NAME RUN --row-issues > issues.csv (exportctl runs NAME lists the runs)',
    });
  }
  // Loaded here, not at the top: every command starts faster when it loads only what it uses.
  const { resolveActor } = require('../../config') as typeof import('../../config');
  const { exportRunRecord, pauseText, runDurationMs } =
    require('../../engine') as typeof import('../../engine');
  const { formatDuration, runChanges, runJson } = require('../render-run') as typeof import('../render-run');
  const { openStateSession } = require('../state-session') as typeof import('../state-session');
  const actor = resolveActor(globals.as, context.env, context.cwd).identity;
  const session = await openStateSession(globals, context, actor);
  try {
    if (name !== undefined && runId !== undefined) {
      const run = await oneRun(session.store, name, runId);
      if (flags.rowIssues) return await printRowIssues(session.store, run, context);
      if (globals.output === 'json') {
        writeLine(context.stdout, JSON.stringify(runJson(run), null, 2));
        return ExitCode.Success;
      }
      const { renderRunSummary } = require('../render-run') as typeof import('../render-run');
      const record = exportRunRecord(run);
      if (record === undefined) {
        writeLine(context.stdout, `${name}: run ${run.id} ${run.status}`);
        return ExitCode.Success;
      }
      const summary = renderRunSummary({
        run,
        record,
        resumed: record.resumes.length > 0,
        error: record.error ?? undefined,
        tookOverLock: undefined,
      });
      for (const line of summary) writeLine(context.stdout, line);
      return ExitCode.Success;
    }
    const runs = await session.store.runs.list({
      ...(name === undefined ? {} : { destination: name }),
      limit,
    });
    if (globals.output === 'json') {
      writeLine(context.stdout, JSON.stringify({ runs: runs.map(runJson) }, null, 2));
      return ExitCode.Success;
    }
    if (runs.length === 0) {
      writeLine(context.stdout, name === undefined ? 'No runs yet.' : `No runs of ${name} yet.`);
      return ExitCode.Success;
    }
    const rows = runs.map((run) => {
      const record = exportRunRecord(run);
      // A run still running has worked longer than its record says; one paused has worked that long.
      const duration = run.status === 'running' ? undefined : runDurationMs(run);
      const took = duration === undefined ? '' : formatDuration(duration);
      const note = record?.error?.code ?? (record?.pause ? pauseText(record.pause) : '');
      return [
        String(run.id),
        run.destination,
        `${record?.dryRun ? 'dry run ' : ''}${run.status}`,
        run.trigger,
        new Date(run.startedAt).toISOString(),
        took,
        runChanges(run),
        run.actor ?? '',
        note,
      ];
    });
    printTable(
      ['ID', 'DESTINATION', 'STATUS', 'TRIGGER', 'STARTED', 'TOOK', 'CHANGES', 'ACTOR', 'NOTE'],
      rows,
      context,
    );
    return ExitCode.Success;
  } finally {
    await session.close();
  }
}

/** Run `runId` of `name` from the history; `run-not-found` when the history has no such run of it. */
async function oneRun(store: StateStore, name: string, runId: number) {
  const run = await store.runs.get(runId);
  if (run === undefined || run.destination !== name) {
    const { StateError } = require('../../state') as typeof import('../../state');
    throw new StateError(
      'run-not-found',
      `run ${runId} of ${name} is not in the run history of ${store.location}`,
      {
        context: { destination: name, run: runId },
        hint: `exportctl runs ${name} lists its runs`,
      },
    );
  }
  return run;
}

/**
 * Writes the run's row issues to stdout as CSV (the header, then a line per issue, in the order the
 * run found them), from the state. A run recorded before they were kept there names a CSV file
 * beside the state of the machine that ran it: that file is printed when it is here.
 */
async function printRowIssues(
  store: StateStore,
  run: Awaited<ReturnType<typeof oneRun>>,
  context: CliContext,
): Promise<number> {
  const { exportRunRecord, rowIssueCsv, rowIssueCsvLine, RunEngineError } =
    require('../../engine') as typeof import('../../engine');
  const { runStoreFor } = require('../../wiring') as typeof import('../../wiring');
  const rowIssues = runStoreFor(store).rowIssues;
  const write = async (chunk: string) => {
    if (!context.stdout.write(chunk)) await once(context.stdout, 'drain');
  };
  const file = exportRunRecord(run)?.rowIssues.csv ?? null;
  if (file === null) {
    for await (const chunk of rowIssueCsv(rowIssues, run.id)) await write(chunk);
    return ExitCode.Success;
  }
  if (!existsSync(file)) {
    throw new RunEngineError(
      'row-issues-elsewhere',
      `run ${run.id} of ${run.destination} wrote its row issues to ${file} on the machine that ran it (before they were kept in the state); that file is not here`,
      {
        context: { destination: run.destination, run: run.id },
        hint: 'read the file on the machine whose state folder holds it; runs since this version keep them in the state',
      },
    );
  }
  await write(readFileSync(file, 'utf8'));
  // A run taken up again by this version after it started adds its later issues to the state.
  for await (const page of rowIssues.read(run.id)) await write(page.map(rowIssueCsvLine).join(''));
  return ExitCode.Success;
}

export const registerRunsCommand: RegisterCommand = ({ program, context, action, globals }) => {
  withCommonFlags(program.command('runs'), ['state', 'output'])
    .description(
      'run history, newest first: status, trigger, changes (+new ~changed -removed =unchanged), who',
    )
    .argument('[name]', 'only the runs of this ExportDestination')
    .argument('[run]', "one run of it (its ID): that run's summary")
    .addOption(new Option('--limit <n>', 'show at most this many runs').default('20'))
    .option(
      '--row-issues',
      "with NAME RUN: print the run's row issues as CSV (key,field,reason,where,severity,code) on stdout",
    )
    .action(
      action((command) =>
        runsCommand(command.args[0], command.args[1], command.opts() as RunsFlags, globals(command), context),
      ),
    );
};
