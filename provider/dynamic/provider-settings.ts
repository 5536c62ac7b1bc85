import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ValidationError } from '../../src/errors';

/** The stack config keys the provider reads (the program reads its own: see program/stack-settings). */
export const providerConfigKeys = {
  /** The state store URL, like `--state`; relative sqlite: paths are relative to the project folder. */
  state: 'exportctl:state',
  /** Who runs `pulumi up`, named on the control-plane lock (like `--as`). */
  actor: 'exportctl:actor',
  /** How long a change waits for the control-plane lock, in seconds (default 60). */
  lockTimeout: 'exportctl:lockTimeout',
} as const;

/** Reads stack config values, as the dynamic-provider host's `ConfigureRequest.config` does. */
export interface ConfigSource {
  get(key: string): string | undefined;
}

/** What every provider call needs besides the resource: where the state is, how long to wait. */
export interface ProviderSettings {
  /** `exportctl:state`; undefined: EXPORTCTL_STATE, else `sqlite:.exportctl/state.db`. */
  readonly state: string | undefined;
  /** The Pulumi project folder (the one holding Pulumi.yaml): relative paths resolve against it. */
  readonly root: string;
  /** The identity named on the locks the provider takes. */
  readonly actor: string;
  readonly lockTimeoutMs: number;
}

const DEFAULT_LOCK_TIMEOUT_MS = 60_000;

/**
 * The provider's settings from the stack config (`configure`), or the defaults when there is no
 * config (a provider called directly). Throws `ValidationError` (`invalid-config`) for a lock timeout
 * that is not a number of seconds.
 */
export function providerSettings(config?: ConfigSource, cwd: string = process.cwd()): ProviderSettings {
  const text = (key: string) => {
    const value = config?.get(key)?.trim();
    return value === undefined || value === '' ? undefined : value;
  };
  const timeout = text(providerConfigKeys.lockTimeout);
  const seconds = timeout === undefined ? undefined : Number(timeout);
  if (seconds !== undefined && !(Number.isFinite(seconds) && seconds >= 0)) {
    throw new ValidationError(
      'invalid-config',
      `${providerConfigKeys.lockTimeout} must be a number of seconds, not ${JSON.stringify(timeout)}`,
      { hint: `pulumi config set ${providerConfigKeys.lockTimeout} 60` },
    );
  }
  return {
    state: text(providerConfigKeys.state),
    root: projectRoot(cwd),
    actor: text(providerConfigKeys.actor) ?? 'pulumi',
    lockTimeoutMs: seconds === undefined ? DEFAULT_LOCK_TIMEOUT_MS : seconds * 1000,
  };
}

/**
 * The nearest folder at or above `start` that holds Pulumi.yaml (or Pulumi.yml), else `start`.
 * Pulumi runs the program and its providers in the folder of the project's `main` (here provider/),
 * not where Pulumi.yaml is, so relative settings are resolved against this instead of the cwd.
 */
export function projectRoot(start: string): string {
  for (let folder = start; ; folder = dirname(folder)) {
    if (existsSync(join(folder, 'Pulumi.yaml')) || existsSync(join(folder, 'Pulumi.yml'))) return folder;
    if (dirname(folder) === folder) return start;
  }
}
