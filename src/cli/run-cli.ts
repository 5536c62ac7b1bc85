import { Command, CommanderError, Option } from 'commander';
import { ExportctlError } from '../errors';
import { packageVersion } from '../package-root';
import { type CliContext, type GlobalOptions, writeLine } from './cli-context';
import type { CommandAction } from './command-registry';
import { commands } from './commands';
import { ExitCode } from './exit-codes';

/**
 * Runs one exportctl command line and resolves to its exit code. Never throws: errors are printed
 * (message, then `hint:`), and a stack trace only with EXPORTCTL_DEBUG=1.
 */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  let exitCode: number = ExitCode.Success;
  const program = new Command('exportctl')
    .description('Export segments of unified customer profiles to Constant Contact lists, declared as code.')
    .version(packageVersion(), '-V, --version')
    .addOption(
      new Option('--state <url>', 'state store URL (default sqlite:.exportctl/state.db)').env(
        'EXPORTCTL_STATE',
      ),
    )
    .addOption(
      new Option('--as <identity>', 'acting identity for role checks (default: git user.email)').env(
        'EXPORTCTL_ACTOR',
      ),
    )
    .addOption(
      new Option('-o, --output <format>', 'output format')
        .choices(['text', 'json', 'markdown'])
        .default('text'),
    )
    .option('--detailed-exitcode', 'exit 2 when there are changes (0: none, 1: error)')
    .showHelpAfterError('(run exportctl --help for usage)')
    .configureOutput({
      writeOut: (text) => context.stdout.write(text),
      writeErr: (text) => context.stderr.write(text),
    })
    .exitOverride();

  const action =
    (run: CommandAction) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      exitCode = await run(command);
    };
  const globals = (command: Command) => command.optsWithGlobals() as GlobalOptions;

  for (const register of commands) register({ program, context, action, globals });

  try {
    await program.parseAsync(['node', 'exportctl', ...argv.slice(2)]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version exit 0; usage errors were already printed by commander.
      return error.exitCode === 0 ? ExitCode.Success : ExitCode.Error;
    }
    printError(error, context);
    return ExitCode.Error;
  }
  return exitCode;
}

export function printError(error: unknown, context: CliContext): void {
  if (error instanceof ExportctlError) {
    writeLine(context.stderr, `error: ${error.message}`);
    if (error.hint) writeLine(context.stderr, `  hint: ${error.hint}`);
  } else {
    const message = error instanceof Error ? error.message : String(error);
    writeLine(context.stderr, `error: unexpected failure: ${message}`);
    writeLine(
      context.stderr,
      '  hint: this is a bug in exportctl; rerun with EXPORTCTL_DEBUG=1 and report the stack trace',
    );
  }
  if (context.env.EXPORTCTL_DEBUG === '1' && error instanceof Error && error.stack)
    writeLine(context.stderr, error.stack);
}
