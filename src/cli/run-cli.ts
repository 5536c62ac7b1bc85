import { Command, CommanderError } from 'commander';
import { ExportctlError } from '../errors';
import { packageVersion } from '../package-root';
import { type CliContext, type GlobalOptions, writeLine } from './cli-context';
import type { CommandAction } from './command-registry';
import { commands } from './commands';
import { addProgramCommonFlags, commonFlagsOf } from './common-flags';
import { ExitCode } from './exit-codes';

/**
 * Runs one exportctl command line and resolves to its exit code. Never throws: errors are printed
 * (message, then `hint:`), and a stack trace only with EXPORTCTL_DEBUG=1.
 */
export async function runCli(argv: readonly string[], context: CliContext): Promise<number> {
  let exitCode: number = ExitCode.Success;
  const program = addProgramCommonFlags(
    new Command('exportctl')
      .description(
        'Export segments of unified customer profiles to Constant Contact lists, declared as code.',
      )
      .version(packageVersion(), '-V, --version')
      .addHelpText(
        'after',
        "\nCommon flags (each command's --help lists those it takes): --state URL (env EXPORTCTL_STATE),\n" +
          '--as IDENTITY (env EXPORTCTL_ACTOR), -o/--output text|json|markdown; plan --detailed-exitcode.',
      )
      .showHelpAfterError('(run exportctl --help for usage)')
      .configureOutput({
        writeOut: (text) => context.stdout.write(text),
        writeErr: (text) => context.stderr.write(text),
      })
      .exitOverride(),
  );

  const action =
    (run: CommandAction) =>
    async (...args: unknown[]) => {
      const command = args[args.length - 1] as Command;
      // Refuses a common flag the command does not take before anything runs.
      commonFlagsOf(command);
      exitCode = await run(command);
    };
  const globals = (command: Command): GlobalOptions => commonFlagsOf(command);

  for (const register of commands) register({ program, context, action, globals });

  try {
    await program.parseAsync(['node', 'exportctl', ...withLongOut(argv.slice(2))]);
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

/**
 * Terraform's `plan -out FILE` spelling, as `--out FILE`: commander reads a single-dash word as
 * short flags (`-o ut`, an --output format). Arguments after `--` are left alone.
 */
function withLongOut(args: readonly string[]): string[] {
  const end = args.indexOf('--');
  return args.map((arg, index) =>
    (end === -1 || index < end) && (arg === '-out' || arg.startsWith('-out=')) ? `-${arg}` : arg,
  );
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
