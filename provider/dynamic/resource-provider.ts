// Type imports only: they vanish from the compiled code, so the serialized provider captures no module.
import type { ConfigureRequest, ReadResult, ResourceProvider } from '@pulumi/pulumi/dynamic';
import type { ManifestKind } from '../../src/config';
import type { ManifestCheckResult } from './check-resource';
import type { ManifestDiffResult } from './diff-resource';
import type { ConfigSource, ProviderSettings } from './provider-settings';
import type { ManifestOutputs, ManifestProps } from './resource-props';
import type { ShimModuleName, ShimModules } from './shim-interface';

/**
 * The dynamic provider of one exportctl kind: a thin adapter over the resource handlers that
 * `exportctl apply` uses (see check-resource, diff-resource, write-resource, delete-resource,
 * read-resource for each call's contract), writing as the calling stack (`pulumi:<org>/<project>/<stack>`).
 */
export interface ExportctlResourceProvider extends ResourceProvider<ManifestProps, ManifestOutputs> {
  readonly kind: ManifestKind;
  /**
   * The stack config `configure` was given; undefined until it runs. Set before anything can throw:
   * the host caches the provider before configuring it, so after a configure that failed, later
   * calls must still read the stack's config (and fail the same way) instead of the defaults.
   */
  config: ConfigSource | undefined;
  /** Set by `configure` from the stack config; the defaults when it has not run. */
  settings: ProviderSettings | undefined;
  configure(request: ConfigureRequest): Promise<void>;
  check(olds: ManifestProps, news: ManifestProps): Promise<ManifestCheckResult>;
  diff(id: string, olds: ManifestOutputs, news: ManifestProps): Promise<ManifestDiffResult>;
  create(inputs: ManifestProps): Promise<{ id: string; outs: ManifestOutputs }>;
  read(id: string, props?: ManifestOutputs): Promise<ReadResult<ManifestOutputs>>;
  update(id: string, olds: ManifestOutputs, news: ManifestProps): Promise<{ outs: ManifestOutputs }>;
  delete(id: string, props: ManifestOutputs): Promise<void>;
}

/**
 * The provider object ("shim") for `kind`. Pulumi serializes it into every resource's state
 * (`serializeFunction(() => provider)`) and the dynamic-provider host rebuilds it with
 * `require-from-string`, so it must stay serializable: its methods capture nothing but `kind` (a
 * string), `require()` the built code of the installed exportctl when called (the modules and
 * functions of shim-interface.ts, a versioned contract: old stacks keep their shim and run the
 * new build), and open the state store inside each call. No client, store, timer or module is held.
 * A call whose built code cannot be found throws an `Error` with code `provider-build-missing`
 * saying whether exportctl is not installed or not built, and what to run.
 */
export function exportctlProvider(kind: ManifestKind): ExportctlResourceProvider {
  return {
    kind,
    config: undefined,
    settings: undefined,

    async configure(request) {
      this.config = request.config;
      this.settings = built('provider-settings').providerSettings(request.config);
    },

    async check(_olds, news) {
      return built('check-resource').checkResource(kind, news as unknown as Record<string, unknown>);
    },

    async diff(id, olds, news) {
      return built('diff-resource').diffResource(kind, settingsOf(this), id, olds, news);
    },

    async create(inputs) {
      return built('write-resource').createResource(kind, settingsOf(this), inputs);
    },

    async read(id, props) {
      return built('read-resource').readResource(kind, settingsOf(this), id, props);
    },

    async update(id, _olds, news) {
      return built('write-resource').updateResource(kind, settingsOf(this), id, news);
    },

    async delete(id, props) {
      await built('delete-resource').deleteResource(kind, settingsOf(this), id, props);
    },
  };

  /**
   * A module of the shim interface as the installed exportctl built it, resolved as from a file in
   * the folder the host runs in (the Pulumi project's): that folder's node_modules and those above
   * it, or exportctl itself when the folder is inside its checkout (self-reference, through the
   * package's `exports`).
   */
  function built<Name extends ShimModuleName>(name: Name): ShimModules[Name] {
    const { createRequire } = require('node:module') as typeof import('node:module');
    const { join } = require('node:path') as typeof import('node:path');
    const from = createRequire(join(process.cwd(), 'pulumi-provider.js'));
    const specifier = `exportctl/dist/provider/dynamic/${name}`;
    let path: string;
    try {
      path = from.resolve(specifier);
    } catch (error) {
      throw buildMissing(specifier, from, error);
    }
    return from(path) as ShimModules[Name];
  }

  /**
   * Why `specifier` cannot be found: exportctl is not installed, not built, or lacks the module.
   * exportctl is looked for where resolving looks: the folder and those above it (a checkout of
   * exportctl), then the node_modules folders.
   */
  function buildMissing(specifier: string, from: NodeJS.Require, cause: unknown): Error {
    const { existsSync, readFileSync } = require('node:fs') as typeof import('node:fs');
    const { dirname, join } = require('node:path') as typeof import('node:path');
    const isExportctl = (folder: string) => {
      try {
        return JSON.parse(readFileSync(join(folder, 'package.json'), 'utf8')).name === 'exportctl';
      } catch {
        return false;
      }
    };
    const folders: string[] = [];
    for (let folder = process.cwd(); dirname(folder) !== folder; folder = dirname(folder))
      folders.push(folder);
    for (const folder of from.resolve.paths('exportctl') ?? []) folders.push(join(folder, 'exportctl'));
    const root = folders.find(isExportctl);
    const message =
      root === undefined
        ? `exportctl is not installed where the Pulumi provider runs (${process.cwd()}), and this stack's resources call its built code (${specifier}): run \`npm install exportctl\` in the Pulumi project`
        : !existsSync(join(root, 'dist'))
          ? `exportctl in ${root} is not built (it has no dist/), and this stack's resources call its built code (${specifier}): run \`npm run build\` in ${root} (\`npm ci\` in a checkout builds it too), or \`npm install exportctl\` again`
          : `exportctl in ${root} has no ${specifier}, which this stack's resources call (a shim written by another exportctl version): install the exportctl version that wrote the stack, or a later one, and run \`npm run build\` if it is a checkout`;
    return Object.assign(new Error(message, { cause }), { code: 'provider-build-missing' });
  }

  function settingsOf(provider: ExportctlResourceProvider): ProviderSettings {
    return provider.settings ?? built('provider-settings').providerSettings(provider.config);
  }
}
