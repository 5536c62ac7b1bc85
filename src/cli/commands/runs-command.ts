import { Option } from 'commander';
import { type CliContext, type GlobalOptions, writeLine } from '../cli-context';
import type { RegisterCommand } from '../command-registry';
import { withCommonFlags } from '../common-flags';
import { ExitCode } from '../exit-codes';
import { parseWholeNumber } from '../parse-duration';
import { printTable } from './status-command';

export interface RunsFlags {
  readonly limit: string;
}

/** `exportctl runs [NAME] [--limit N]`: the run history, newest first. */
export async function runsCommand(
  name: string | undefined,
  flags: RunsFlags,
  globals: GlobalOptions,
  context: CliContext,
): Promise<number> {
  const limit = parseWholeNumber(flags.limit, '--limit');
  // Loaded here, not at the top: every command starts faster when it loads only what it uses.
  const { resolveActor } = require('../../config') as typeof import('../../config');
  const { exportRunRecord, pauseText, runDurationMs } =
    require('../../engine') as typeof import('../../engine');
  const { formatDuration, runChanges, runJson } = require('../render-run') as typeof import('../render-run');
  const { openStateSession } = require('../state-session') as typeof import('../state-session');
  const actor = resolveActor(globals.as, context.env, context.cwd).identity;
  const session = await openStateSession(globals, context, actor);
  try {
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

export const registerRunsCommand: RegisterCommand = ({ program, context, action, globals }) => {
  withCommonFlags(program.command('runs'), ['state', 'output'])
    .description(
      'run history, newest first: status, trigger, changes (+new ~changed -removed =unchanged), who',
    )
    .argument('[name]', 'only the runs of this ExportDestination')
    .addOption(new Option('--limit <n>', 'show at most this many runs').default('20'))
    .action(
      action((command) =>
        runsCommand(command.args[0], command.opts() as RunsFlags, globals(command), context),
      ),
    );
};
