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
 * The stack the program runs as, `<organization>/<project>/<stack>`: every resource passes it to the
 * provider as its input `stack`, which records the owner `pulumi:<stack>` in the exportctl state, so
 * two stacks (or projects, or organizations) on one state never co-own a resource. An input because
 * the provider has no other way to learn it: the dynamic-provider host passes a method neither the
 * URN nor the stack, and a URN has no organization. Without an organization (an engine that sets
 * none), `organization`, the name Pulumi's self-managed backends use.
 */
export function pulumiStackName(): string {
  let organization: string;
  try {
    organization = pulumi.getOrganization();
  } catch {
    // getOrganization throws when the engine gave none, instead of returning a default.
    organization = 'organization';
  }
  return `${organization}/${pulumi.getProject()}/${pulumi.getStack()}`;
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
