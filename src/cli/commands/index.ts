import type { RegisterCommand } from '../command-registry';
import { registerApplyCommands } from './apply-command';
import { registerConnectionCommand } from './connection-command';
import { registerPlanCommand } from './plan-command';
import { registerRunCommand } from './run-command';
import { registerRunsCommand } from './runs-command';
import { registerSandboxCommand } from './sandbox-command';
import { registerStateCommand } from './state-command';
import { registerStatusCommand } from './status-command';
import { registerValidateCommand } from './validate-command';
import { registerWatchCommand } from './watch-command';

/** Every exportctl command, in the order `--help` lists them. */
export const commands: readonly RegisterCommand[] = [
  registerValidateCommand,
  registerPlanCommand,
  registerApplyCommands,
  registerRunCommand,
  registerRunsCommand,
  registerStatusCommand,
  registerConnectionCommand,
  registerStateCommand,
  registerWatchCommand,
  registerSandboxCommand,
];
