import { createRequire } from 'node:module';
import { join } from 'node:path';
import { loadManifests } from '../../../src/config';
import type { SandboxHandle } from '../../../src/sandbox';
import type { StateStore } from '../../../src/state';
import { repoRoot } from '../../support/exportctl-cli';
import { quickstartCopy } from '../../support/quickstart-world';
import { testSandbox } from '../../support/sandbox-client';
import { openTestState } from '../../support/state-store';

type DynamicModule = typeof import('../../../provider/dynamic');
type ManifestProps = import('../../../provider/dynamic').ManifestProps;

const requireFromRepo = createRequire(join(repoRoot, 'package.json'));

/**
 * The provider folder as built in dist/ (`npm test` builds first): the code the dynamic-provider
 * host runs, since the provider's methods require() it.
 */
export function builtDynamic(): DynamicModule {
  return requireFromRepo('./dist/provider/dynamic') as DynamicModule;
}

/** The values the quickstart's secret references name, as the sandbox seed expects them. */
export const sandboxSecrets = {
  CC_CLIENT_SECRET: 'sandbox-secret',
  CC_REFRESH_TOKEN: 'sandbox-refresh-token',
} as const;

export interface ProviderWorld {
  /** A temp copy of config-examples/quickstart whose connection points at `sandbox`. */
  readonly folder: string;
  readonly sandbox: SandboxHandle;
  /** `sqlite:<folder>/.exportctl/state.db`. */
  readonly stateUrl: string;
  /** Stack config as the host's ConfigureRequest gives it. */
  readonly config: Record<string, string>;
  /**
   * A quickstart resource's inputs as the program passes them: the manifest as written (deep copy)
   * plus its file, `change`d if given.
   */
  props(id: string, change?: (props: MutableProps) => void): ManifestProps;
  /** A store on the same state, for looking inside (closed after the test). */
  openStore(): Promise<StateStore>;
}

export type MutableProps = {
  -readonly [K in keyof ManifestProps]: K extends 'spec' ? Record<string, unknown> : ManifestProps[K];
};

/**
 * A sandbox with the quickstart seed (closed after the test, unless one is given), a quickstart copy
 * pointing at it, and a fresh SQLite state.
 */
export async function providerWorld(
  config: Record<string, string> = {},
  options: { sandbox?: SandboxHandle } = {},
): Promise<ProviderWorld> {
  const sandbox = options.sandbox ?? (await testSandbox());
  const folder = quickstartCopy(sandbox);
  const loaded = loadManifests([folder], { cwd: folder, skipRoleChecks: true });
  if (loaded.problems.some((problem) => problem.severity === 'error'))
    throw new Error(JSON.stringify(loaded.problems));
  const stateUrl = `sqlite:${join(folder, '.exportctl', 'state.db')}`;
  return {
    folder,
    sandbox,
    stateUrl,
    config: { 'exportctl:state': stateUrl, ...config },
    props(id, change) {
      const item = loaded.manifests.find((manifest) => manifest.id === id);
      if (!item) throw new Error(`no ${id} in the quickstart`);
      const written = structuredClone(item.source.data) as {
        metadata: ManifestProps['metadata'];
        spec: object;
      };
      const props: MutableProps = {
        metadata: written.metadata,
        spec: written.spec as Record<string, unknown>,
        manifestFile: item.source.file,
      };
      change?.(props);
      return props as ManifestProps;
    },
    openStore: () => openTestState({ url: stateUrl, folder }),
  };
}

/** A ConfigureRequest's `config`: keys in full (`exportctl:state`), as the host's Config takes them. */
export function configOf(values: Record<string, string>): {
  get(key: string): string | undefined;
  require(key: string): string;
} {
  return {
    get: (key) => values[key],
    require(key) {
      const value = values[key];
      if (value === undefined) throw new Error(`Missing required configuration key: ${key}`);
      return value;
    },
  };
}
