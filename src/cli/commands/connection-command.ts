import { type CliContext, type GlobalOptions, writeLine } from '../cli-context';
import type { RegisterCommand } from '../command-registry';
import { withCommonFlags } from '../common-flags';
import { ExitCode } from '../exit-codes';
import { parseDuration } from '../parse-duration';

export interface ReauthorizeFlags {
  readonly lockTimeout: string;
}

/**
 * `exportctl connection reauthorize NAME`: drops the connection's stored OAuth tokens under the
 * control-plane lock, so its next token refresh uses the bootstrap refresh token again (see
 * `reauthorizeConnection`), and says what it did. Exit 0, or 1 for an unknown connection, a role
 * denial or a lock held too long.
 */
export async function reauthorizeCommand(
  name: string,
  flags: ReauthorizeFlags,
  globals: GlobalOptions,
  context: CliContext,
): Promise<number> {
  const lock = {
    command: `connection reauthorize ${name}`,
    timeoutMs: parseDuration(flags.lockTimeout, '--lock-timeout'),
  };
  // Loaded here, not at the top: every command starts faster when it loads only what it uses.
  const { resolveActor } = require('../../config') as typeof import('../../config');
  const { reauthorizeConnection } = require('../../resources') as typeof import('../../resources');
  const { openStateSession } = require('../state-session') as typeof import('../state-session');
  const actor = resolveActor(globals.as, context.env, context.cwd).identity;
  const session = await openStateSession(globals, context, actor, lock);
  try {
    const result = await reauthorizeConnection(session.store, name, actor);
    if (globals.output === 'json') {
      writeLine(context.stdout, JSON.stringify(result));
      return ExitCode.Success;
    }
    const bootstrap =
      'the bootstrap refresh token stored when it was last applied (what spec.auth.refreshToken pointed at)';
    writeLine(
      context.stdout,
      result.droppedTokens
        ? `Dropped the stored OAuth tokens of Connection/${name}: its next token refresh uses ${bootstrap}.`
        : `Connection/${name} had no stored OAuth tokens: its next token refresh already uses ${bootstrap}.`,
    );
    writeLine(
      context.stdout,
      'Its spec and stored secrets are unchanged. To use a new refresh token instead, store it where spec.auth.refreshToken points and run exportctl apply.',
    );
    return ExitCode.Success;
  } finally {
    await session.close();
  }
}

const REAUTHORIZE_HELP = `
When: the stored token chain is dead but the bootstrap token is good, e.g. a local sandbox that
restarted without --state-file (it knows its seed's bootstrap token again, not the tokens it rotated
since): refreshes fail with invalid_grant (reauthorization-required) until the chain is dropped.
For Constant Contact itself, authorise again, store the new refresh token where
spec.auth.refreshToken points and apply: a changed bootstrap token replaces the chain by itself.
A running exportctl watch uses the bootstrap token at its next token refresh.`;

export const registerConnectionCommand: RegisterCommand = ({ program, context, action, globals }) => {
  const connection = program
    .command('connection')
    .description("operate on an applied connection's stored credentials");
  withCommonFlags(connection.command('reauthorize'), ['state', 'as', 'output'])
    .description(
      "drop the connection's stored OAuth tokens so its next refresh uses the bootstrap refresh token again",
    )
    .argument('<name>', 'the applied Connection')
    .option('--lock-timeout <duration>', 'how long to wait for the control-plane lock', '30s')
    .addHelpText('after', REAUTHORIZE_HELP)
    .action(
      action((command) =>
        reauthorizeCommand(
          command.args[0] as string,
          command.opts() as ReauthorizeFlags,
          globals(command),
          context,
        ),
      ),
    );
};
