import type { RegisterCommand } from '../command-registry';
import { registerSandboxCommand } from './sandbox-command';
import { registerValidateCommand } from './validate-command';

/** Every exportctl command, in the order `--help` lists them. */
export const commands: readonly RegisterCommand[] = [registerValidateCommand, registerSandboxCommand];
