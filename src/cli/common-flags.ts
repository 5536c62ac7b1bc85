import { type Command, Option } from 'commander';
import { UsageError } from '../errors';
import type { GlobalOptions } from './cli-context';

/** The flags several commands share (DESIGN.md "Common flags"), by their commander key. */
export type CommonFlag = 'state' | 'as' | 'output' | 'detailedExitcode';

const FLAGS = {
  state: { name: '--state', arguments: ' <url>' },
  as: { name: '--as', arguments: ' <identity>' },
  output: { name: '--output', arguments: ' <format>' },
  detailedExitcode: { name: '--detailed-exitcode', arguments: '' },
} as const satisfies Record<CommonFlag, { name: string; arguments: string }>;

const commonFlags = Object.keys(FLAGS) as CommonFlag[];
const outputFormats = ['text', 'json', 'markdown'];

/** Why a command does not take a common flag, for the refusal; the default is generic. */
const notUsedBecause: Partial<Record<CommonFlag, string>> = {
  state: 'it reads no state',
  as: 'it makes no role check and records no identity',
  output: 'its output has one format',
};

/** The common flags each command honours, so a refusal can name the commands that do. */
const honouredBy = new WeakMap<Command, readonly CommonFlag[]>();

function honouredOption(flag: CommonFlag): Option {
  switch (flag) {
    case 'state':
      return new Option('--state <url>', 'state store URL (default sqlite:.exportctl/state.db)').env(
        'EXPORTCTL_STATE',
      );
    case 'as':
      return new Option(
        '--as <identity>',
        'who you act as, for role checks and the records (default: git user.email)',
      ).env('EXPORTCTL_ACTOR');
    case 'output':
      return new Option('-o, --output <format>', 'output format').choices(outputFormats).default('text');
    case 'detailedExitcode':
      return new Option('--detailed-exitcode', 'exit 2 when there are changes (0: none, 1: error)');
  }
}

/** The same flag, hidden, without env or default: parsed only so that it can be refused clearly. */
function hiddenOption(flag: CommonFlag): Option {
  const { name, arguments: value } = FLAGS[flag];
  const option = new Option(`${flag === 'output' ? '-o, ' : ''}${name}${value}`).hideHelp();
  return flag === 'output' ? option.choices(outputFormats) : option;
}

/**
 * Declares which common flags `command` honours: those are listed in its `--help` (with their
 * environment variables and defaults); the others are parsed hidden and refused by
 * {@link commonFlagsOf} with a message naming the commands that take them.
 */
export function withCommonFlags(command: Command, honoured: readonly CommonFlag[]): Command {
  honouredBy.set(command, honoured);
  for (const flag of commonFlags)
    command.addOption(honoured.includes(flag) ? honouredOption(flag) : hiddenOption(flag));
  return command;
}

/**
 * The common flags on the program itself, hidden: `exportctl --state URL status` keeps working
 * (the program parses its options before the command name only: `enablePositionalOptions`).
 */
export function addProgramCommonFlags(program: Command): Command {
  for (const flag of commonFlags) program.addOption(hiddenOption(flag));
  return program.enablePositionalOptions();
}

/**
 * The common flags of the command that runs: each from its own command line, else from before the
 * command name, else its environment variable or default. Throws UsageError `flag-not-used` for a
 * common flag given that the command does not honour (e.g. `run --detailed-exitcode`).
 */
export function commonFlagsOf(command: Command): GlobalOptions {
  const program = rootOf(command);
  const honoured = honouredBy.get(command) ?? [];
  const values: Partial<Record<CommonFlag, unknown>> = {};
  for (const flag of commonFlags) {
    const given = [command, program].find((where) => where.getOptionValueSource(flag) === 'cli');
    if (given && !honoured.includes(flag)) throw notUsed(command, flag);
    values[flag] = (given ?? command).getOptionValue(flag);
  }
  return {
    ...(typeof values.state === 'string' ? { state: values.state } : {}),
    ...(typeof values.as === 'string' ? { as: values.as } : {}),
    output: (values.output as GlobalOptions['output'] | undefined) ?? 'text',
    ...(values.detailedExitcode === true ? { detailedExitcode: true } : {}),
  };
}

function notUsed(command: Command, flag: CommonFlag): UsageError {
  const name = FLAGS[flag].name;
  const users = commandsHonouring(rootOf(command), flag);
  if (flag === 'detailedExitcode') {
    return new UsageError(
      'flag-not-used',
      `--detailed-exitcode is a flag of \`exportctl plan\` only: \`${commandPath(command)}\` exits 0 on success and 1 on error`,
      {
        context: { command: commandPath(command), flag: name },
        hint: 'drop the flag; to find out whether there are changes, run exportctl plan --detailed-exitcode',
      },
    );
  }
  return new UsageError(
    'flag-not-used',
    `\`${commandPath(command)}\` does not use ${name}: ${notUsedBecause[flag] ?? 'it has no use for it'}`,
    {
      context: { command: commandPath(command), flag: name },
      hint: `drop the flag; the commands that use ${name}: ${users.join(', ')}`,
    },
  );
}

function commandsHonouring(program: Command, flag: CommonFlag): string[] {
  const found: string[] = [];
  const visit = (command: Command) => {
    if (honouredBy.get(command)?.includes(flag)) found.push(commandPath(command).replace(/^exportctl /, ''));
    for (const sub of command.commands) visit(sub);
  };
  visit(program);
  return found;
}

function rootOf(command: Command): Command {
  let root = command;
  while (root.parent) root = root.parent;
  return root;
}

function commandPath(command: Command): string {
  const names: string[] = [];
  for (let at: Command | null = command; at; at = at.parent) names.unshift(at.name());
  return names.join(' ');
}
