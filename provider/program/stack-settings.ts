import { resolve } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { type ActorIdentity, resolveActor } from '../../src/config';
import { projectFolder } from '../resources/project-folder';

/** The config namespace of every key the program and the provider read: `exportctl:<key>`. */
export const STACK_CONFIG_NAMESPACE = 'exportctl';

/** The folder the program loads when `exportctl:manifests` is not set. */
export const DEFAULT_MANIFESTS = 'config-examples/quickstart';

/** What the program reads from the stack config (the provider reads state, actor and lockTimeout). */
export interface StackSettings {
  /** The project folder: relative settings are relative to it. */
  readonly root: string;
  /** `exportctl:manifests`, absolute: the folder (or file) of manifests to declare. */
  readonly manifests: string;
  /**
   * Who runs `pulumi up`, for the role checks: `exportctl:actor` (like `--as`), else EXPORTCTL_ACTOR,
   * else git's user.email, as `exportctl validate` finds it.
   */
  readonly actor: ActorIdentity;
  /** `exportctl:secretEnv`: values for `{env: NAME}` secret references, as a Pulumi secret. */
  readonly secretEnv: pulumi.Output<Record<string, string>> | undefined;
}

/**
 * Reads the program's stack config. `config` and `root` are for tests; by default the stack's
 * `exportctl` config and the project folder.
 */
export function readStackSettings(
  config: pulumi.Config = new pulumi.Config(STACK_CONFIG_NAMESPACE),
  root: string = projectFolder(),
  env: NodeJS.ProcessEnv = process.env,
): StackSettings {
  const actor = config.get('actor')?.trim();
  return {
    root,
    manifests: resolve(root, config.get('manifests') ?? DEFAULT_MANIFESTS),
    actor: actor ? { identity: actor, source: 'flag' } : resolveActor(undefined, env, root),
    secretEnv: config.getSecretObject<Record<string, string>>('secretEnv'),
  };
}
