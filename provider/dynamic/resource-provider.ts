// Type imports only: they vanish from the compiled code, so the serialized provider captures no module.
import type { ConfigureRequest, ReadResult, ResourceProvider } from '@pulumi/pulumi/dynamic';
import type { ManifestKind } from '../../src/config';
import type { ManifestCheckResult } from './check-resource';
import type { ManifestDiffResult } from './diff-resource';
import type { ProviderSettings } from './provider-settings';
import type { ManifestOutputs, ManifestProps } from './resource-props';

/**
 * The dynamic provider of one exportctl kind: a thin adapter over the resource handlers that
 * `exportctl apply` uses (see check-resource, diff-resource, write-resource, delete-resource,
 * read-resource for each call's contract), writing as owner `pulumi`.
 */
export interface ExportctlResourceProvider extends ResourceProvider<ManifestProps, ManifestOutputs> {
  readonly kind: ManifestKind;
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
 * The provider object for `kind`. Pulumi serializes it into every resource's state
 * (`serializeFunction(() => provider)`) and the dynamic-provider host rebuilds it with
 * `require-from-string` in the project folder, so it must stay serializable: its methods capture
 * nothing but `kind` (a string), `require()` the built code (`exportctl/dist/...`, resolved from the
 * project's node_modules) when called, and open the state store inside each call. No client, store,
 * timer or module is held.
 */
export function exportctlProvider(kind: ManifestKind): ExportctlResourceProvider {
  return {
    kind,
    settings: undefined,

    async configure(request) {
      const { providerSettings } = built<typeof import('./provider-settings')>('provider-settings');
      this.settings = providerSettings(request.config);
    },

    async check(_olds, news) {
      const { checkResource } = built<typeof import('./check-resource')>('check-resource');
      return checkResource(kind, news as unknown as Record<string, unknown>);
    },

    async diff(id, olds, news) {
      const { diffResource } = built<typeof import('./diff-resource')>('diff-resource');
      return diffResource(kind, settingsOf(this), id, olds, news);
    },

    async create(inputs) {
      const { createResource } = built<typeof import('./write-resource')>('write-resource');
      return createResource(kind, settingsOf(this), inputs);
    },

    async read(id, props) {
      const { readResource } = built<typeof import('./read-resource')>('read-resource');
      return readResource(kind, settingsOf(this), id, props);
    },

    async update(id, _olds, news) {
      const { updateResource } = built<typeof import('./write-resource')>('write-resource');
      return updateResource(kind, settingsOf(this), id, news);
    },

    async delete(id, props) {
      const { deleteResource } = built<typeof import('./delete-resource')>('delete-resource');
      await deleteResource(kind, settingsOf(this), id, props);
    },
  };

  /**
   * A module of this folder as built in dist/, required when a method runs: resolved from the
   * project's node_modules (`exportctl` depends on itself), so the host finds it from any folder.
   */
  function built<Module>(name: string): Module {
    return require(`exportctl/dist/provider/dynamic/${name}`) as Module;
  }

  function settingsOf(provider: ExportctlResourceProvider): ProviderSettings {
    if (provider.settings) return provider.settings;
    const { providerSettings } = built<typeof import('./provider-settings')>('provider-settings');
    return providerSettings();
  }
}
