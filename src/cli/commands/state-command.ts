import { type CliContext, type GlobalOptions, writeLine } from '../cli-context';
import type { RegisterCommand } from '../command-registry';
import { withCommonFlags } from '../common-flags';
import { ExitCode } from '../exit-codes';

export interface MigrateFlags {
  readonly from: string;
  readonly to: string;
  readonly force?: boolean;
}

/**
 * `exportctl state migrate --from URL --to URL [--force]`: copies a whole state into another one
 * (see `migrateState`) and prints what it copied. Exit 0, or 1 when it refused (an unfinished run,
 * a non-empty target, one state named twice, a missing key) or failed; then nothing was written.
 */
export async function migrateCommand(
  flags: MigrateFlags,
  globals: GlobalOptions,
  context: CliContext,
): Promise<number> {
  const { resolveActor } = require('../../config') as typeof import('../../config');
  const { migrateState } =
    require('../../wiring/migrate-state') as typeof import('../../wiring/migrate-state');
  const { redactUrl } = require('../../state') as typeof import('../../state');
  const actor = resolveActor(globals.as, context.env, context.cwd).identity ?? 'unknown';
  const result = await migrateState({
    from: flags.from,
    to: flags.to,
    force: flags.force === true,
    cwd: context.cwd,
    env: context.env,
    actor,
  });
  if (globals.output === 'json') {
    writeLine(context.stdout, JSON.stringify(result, null, 2));
    return ExitCode.Success;
  }
  const c = result.copied;
  writeLine(
    context.stdout,
    `Copied the state ${result.from} into ${result.to}${result.replaced ? ' (replacing what it held)' : ''}:`,
  );
  const lines: [string, string][] = [
    ['applied resources', `${c.resources}`],
    ['secrets', `${c.secrets} (re-encrypted with the target's key)`],
    ['OAuth token sets', `${c.tokens}`],
    ['runs', `${c.runs}`],
    [
      'snapshot rows',
      `${c.snapshotRows} (${c.snapshotDestinations} destination${c.snapshotDestinations === 1 ? '' : 's'})`,
    ],
    ['row issues', `${c.rowIssues} (${c.rowIssueRuns} run${c.rowIssueRuns === 1 ? '' : 's'})`],
  ];
  const width = Math.max(...lines.map(([label]) => label.length));
  for (const [label, value] of lines) writeLine(context.stdout, `  ${label.padEnd(width)}  ${value}`);
  writeLine(context.stdout);
  writeLine(
    context.stdout,
    `Next: use the new state with --state ${redactUrl(flags.to.trim())} (or EXPORTCTL_STATE) on every machine, ` +
      'with the key it was encrypted with; its first run sends only what changed. ' +
      'The source is unchanged: stop using it (plans saved on it are not applied to the new state).',
  );
  return ExitCode.Success;
}

const MIGRATE_HELP = `
Copies everything but locks: applied resources, secrets and rotated OAuth tokens (decrypted with the
source's key, encrypted with the target's), the run history, and each destination's confirmed
snapshot, so the first run on the new state sends nothing when nothing changed. All or nothing, in
one transaction on the target. Refuses a source with an unfinished run, a target that holds
anything (unless --force) and the same state twice.

Keys: the target's is EXPORTCTL_SECRET_KEY (required for PostgreSQL; a SQLite target without it
gets a key file beside it). The source's is EXPORTCTL_FROM_SECRET_KEY if set, else a SQLite
source's key file, else EXPORTCTL_SECRET_KEY.

Example:
  EXPORTCTL_SECRET_KEY=... exportctl state migrate --from sqlite:.exportctl/state.db \\
    --to 'postgres://exportctl@db.internal/exportctl?schema=marketing'`;

export const registerStateCommand: RegisterCommand = ({ program, context, action, globals }) => {
  const state = program.command('state').description('operate on a state as a whole');
  withCommonFlags(state.command('migrate'), ['as', 'output'])
    .description('copy a whole state (SQLite or PostgreSQL) into another, empty one')
    .requiredOption('--from <url>', 'the state to copy: sqlite:PATH or postgres://…')
    .requiredOption('--to <url>', 'the state to fill: sqlite:PATH or postgres://…')
    .option('--force', 'replace what the target holds instead of refusing')
    .addHelpText('after', MIGRATE_HELP)
    .action(action((command) => migrateCommand(command.opts() as MigrateFlags, globals(command), context)));
};
