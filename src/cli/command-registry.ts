import type { Command } from 'commander';
import type { CliContext, GlobalOptions } from './cli-context';

/** What a command's action resolves to: its exit code. */
export type CommandAction = (command: Command) => number | Promise<number>;

/** Handed to each command's `register` function. */
export interface CommandRegistration {
  readonly program: Command;
  readonly context: CliContext;
  /** Wraps an action so its exit code becomes the process's. */
  action(run: CommandAction): (...args: unknown[]) => Promise<void>;
  /** The global flags merged with the command's own. */
  globals(command: Command): GlobalOptions;
}

/** A CLI command: one file under src/cli/commands/ exports one of these. */
export type RegisterCommand = (registration: CommandRegistration) => void;
