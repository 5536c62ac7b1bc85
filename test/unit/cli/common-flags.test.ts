import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { requireExistingPaths } from '../../../src/cli/commands/watch-command';
import { addProgramCommonFlags, commonFlagsOf, withCommonFlags } from '../../../src/cli/common-flags';
import { UsageError } from '../../../src/errors';
import { tempFolder } from '../../support/temp-folder';

/** A program with `plan` (every common flag) and `status` (--state, --output); the action command. */
function parsed(args: string[], env: NodeJS.ProcessEnv = {}): Command {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    let ran: Command | undefined;
    const program = addProgramCommonFlags(new Command('exportctl').exitOverride());
    for (const [name, flags] of [
      ['plan', ['state', 'as', 'output', 'detailedExitcode']],
      ['status', ['state', 'output']],
    ] as const) {
      withCommonFlags(program.command(name), flags).action((_options, command: Command) => {
        ran = command;
      });
    }
    program.parse(['node', 'exportctl', ...args]);
    if (!ran) throw new Error('no command ran');
    return ran;
  } finally {
    process.env = saved;
  }
}

function refusal(run: () => unknown): UsageError {
  try {
    run();
  } catch (error) {
    if (error instanceof UsageError) return error;
    throw error;
  }
  throw new Error('expected a UsageError');
}

describe('common flags', () => {
  it('takes each from the command line after the command, else before it, else the environment, else the default', () => {
    expect(commonFlagsOf(parsed(['plan', '--state', 'sqlite:a.db']))).toEqual({
      state: 'sqlite:a.db',
      output: 'text',
    });
    expect(
      commonFlagsOf(parsed(['--state', 'sqlite:b.db', 'plan'], { EXPORTCTL_STATE: 'sqlite:env.db' })),
    ).toEqual({
      state: 'sqlite:b.db',
      output: 'text',
    });
    expect(commonFlagsOf(parsed(['plan', '-o', 'json'], { EXPORTCTL_STATE: 'sqlite:env.db' }))).toEqual({
      state: 'sqlite:env.db',
      output: 'json',
    });
    expect(commonFlagsOf(parsed(['plan', '--detailed-exitcode', '--as', 'ops@example.com']))).toEqual({
      as: 'ops@example.com',
      output: 'text',
      detailedExitcode: true,
    });
  });

  it('refuses a common flag the command does not take, wherever it was given (flag-not-used)', () => {
    for (const args of [
      ['status', '--detailed-exitcode'],
      ['--detailed-exitcode', 'status'],
      ['status', '--as', 'x'],
    ]) {
      const error = refusal(() => commonFlagsOf(parsed(args)));
      expect(error.code).toBe('flag-not-used');
    }
    expect(refusal(() => commonFlagsOf(parsed(['status', '--as', 'x']))).hint).toContain('--as: plan');
  });

  it('does not refuse a flag the command does not take when only its environment variable is set', () => {
    expect(commonFlagsOf(parsed(['status'], { EXPORTCTL_ACTOR: 'ops@example.com' }))).toEqual({
      output: 'text',
    });
  });

  it('watch refuses a PATH that does not exist (path-not-found), and takes one that does', () => {
    const folder = tempFolder();
    expect(() => requireExistingPaths(['.'], folder)).not.toThrow();
    const error = refusal(() => requireExistingPaths(['.', 'missing'], folder));
    expect(error.code).toBe('path-not-found');
    expect(error.message).toBe('missing does not exist: there is nothing to watch');
  });
});
